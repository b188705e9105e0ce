package interactive

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/lcsvc/lcservice/service"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestParseDetectionShapes(t *testing.T) {
	cases := []struct {
		name, data      string
		inv, sid, event string
	}{
		{"routing at top", `{"routing":{"sid":"s","plat":536870912,"investigation_id":"i"},"detect":{"event":{"A":1},"routing":{"sid":"s","investigation_id":"i"}}}`, "i", "s", `{"A":1}`},
		{"fallback to detect.routing", `{"routing":{"sid":"s"},"detect":{"event":{"A":2},"routing":{"sid":"s","investigation_id":"j"}}}`, "j", "s", `{"A":2}`},
		{"no top routing", `{"detect":{"event":{"A":3},"routing":{"sid":"t","investigation_id":"k"}}}`, "k", "t", `{"A":3}`},
		{"bare payload detect", `{"routing":{"sid":"s","investigation_id":"i"},"detect":{"PACKAGES":[]}}`, "i", "s", `{"PACKAGES":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ev, err := parseDetection(json.RawMessage(c.data))
			if err != nil || r.InvestigationID != c.inv || r.SID != c.sid || string(ev) != c.event {
				t.Errorf("got %+v %s %v", r, ev, err)
			}
		})
	}
	if _, _, err := parseDetection(json.RawMessage(`[1]`)); err == nil {
		t.Error("non-object detection parsed")
	}
}

func TestReceiptError(t *testing.T) {
	cases := []struct {
		event   string
		wantErr bool
		done    bool
	}{
		{`{"ERROR":0}`, false, false},
		{`{"ERROR":200,"ERROR_MESSAGE":"done"}`, false, true},
		{`{"ERROR":0,"ERROR_MESSAGE":"done"}`, false, true},
		{`{"ERROR":5,"ERROR_MESSAGE":"access denied"}`, true, false},
		{`{"ERROR":"12"}`, true, false},
		{`{}`, false, false},
		{`not json`, false, false},
	}
	for _, c := range cases {
		err, done := receiptError(json.RawMessage(c.event))
		if (err != nil) != c.wantErr || done != c.done {
			t.Errorf("%s: err=%v done=%v", c.event, err, done)
		}
	}
}

func TestCommandLine(t *testing.T) {
	cases := map[string]string{
		CommandLine("os_packages"):                          "os_packages",
		CommandLine("file_hash", `C:\Program Files\a.exe`):  `file_hash "C:\Program Files\a.exe"`,
		CommandLine("file_hash", `/tmp/say "hi"`):           `file_hash "/tmp/say \"hi\""`,
		CommandLine("dir_list", "-d", "2", "/home", "*.sh"): "dir_list -d 2 /home *.sh",
		CommandLine("run", "--shell-command", ""):           `run --shell-command ""`,
		CommandLine("os_processes", "-p", "42"):             "os_processes -p 42",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestNewRefusesBadSetup(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("nil service accepted")
	}
	insecure, _ := service.New("x", "", service.WithInsecureNoSecret())
	if _, err := New(insecure); err == nil {
		t.Error("service without a secret accepted")
	}
	svc, _ := service.New("x", "s")
	if _, err := New(svc, WithDefaultTTL(0)); err == nil {
		t.Error("zero TTL accepted")
	}
	is, err := New(svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "has space", string(make([]byte, 65))} {
		if err := is.Handle(name, nil); err == nil {
			t.Errorf("Handle(%q) accepted", name)
		}
	}
	if err := is.Handle("ok", nil); err == nil {
		t.Error("nil handler accepted")
	}
}

func TestPlatformFromRouting(t *testing.T) {
	r, _, err := parseDetection(json.RawMessage(`{"routing":{"sid":"s","plat":268435456},"detect":{"event":{}}}`))
	if err != nil || r.Plat != Windows || r.Plat.String() != "windows" {
		t.Errorf("plat = %v %v", r.Plat, err)
	}
	if Linux.String() != "linux" || MacOS.String() != "macos" || Platform(7).String() != "Platform(0x7)" {
		t.Error("platform names")
	}
}
