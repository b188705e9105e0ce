package interactive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestParseDetectionShapes(t *testing.T) {
	cases := []struct {
		name, data      string
		inv, sid, event string
	}{
		// The detection stream's shape: detect is the bare event payload.
		{"documented", `{"cat":"__svc-a-ex","source":"dr-managed","routing":{"sid":"s","plat":536870912,"investigation_id":"i"},"detect":{"PACKAGES":[]},"detect_id":"d","namespace":"managed"}`, "i", "s", `{"PACKAGES":[]}`},
		{"documented, payload holding the words", `{"routing":{"sid":"s","investigation_id":"i"},"detect":{"NOTE":"routing","KIND":"event","EVENT":{"A":1}}}`, "i", "s", `{"NOTE":"routing","KIND":"event","EVENT":{"A":1}}`},
		{"documented, payload not an object", `{"routing":{"sid":"s","investigation_id":"i"},"detect":["event"]}`, "i", "s", `["event"]`},
		// The older shape the reference Python framework reads.
		{"nested, routing at top too", `{"routing":{"sid":"s","plat":536870912,"investigation_id":"i"},"detect":{"event":{"A":1},"routing":{"sid":"s","investigation_id":"i"}}}`, "i", "s", `{"A":1}`},
		{"nested, id only in detect.routing", `{"routing":{"sid":"s"},"detect":{"event":{"A":2},"routing":{"sid":"s","investigation_id":"j"}}}`, "j", "s", `{"A":2}`},
		{"nested, no top routing", `{"detect":{"event":{"A":3},"routing":{"sid":"t","investigation_id":"k"}}}`, "k", "t", `{"A":3}`},
		{"nested, event only", `{"routing":{"sid":"s","investigation_id":"i"},"detect":{"event":{"A":4}}}`, "i", "s", `{"A":4}`},
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

// TestDocumentedDetectionReadInOnePass checks that the event of a
// detection in either shape is handed on as it came: a slice of the
// webhook's data, never a copy or a re-encoding.
func TestDocumentedDetectionReadInOnePass(t *testing.T) {
	for data, want := range map[string]string{
		`{"routing":{"sid":"s","investigation_id":"i"},"detect":{"PACKAGES":[{"PACKAGE_NAME":"curl"}]}}`: `{"PACKAGES":[{"PACKAGE_NAME":"curl"}]}`,
		`{"detect":{"routing":{"sid":"s","investigation_id":"i"},"event": {"A" : [1]} }}`:                `{"A" : [1]}`,
	} {
		b := []byte(data)
		_, ev, err := parseDetection(b)
		if err != nil || string(ev) != want {
			t.Fatalf("%s: event %s, %v", data, ev, err)
		}
		if at := bytes.Index(b, ev); at < 0 || &b[at] != &ev[0] {
			t.Errorf("%s: the event is a copy, not a slice of the data", data)
		}
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
	for name, c := range map[string]struct {
		secret string
		opts   []Option
		want   string
	}{
		"empty secret":   {"", nil, "empty shared secret"},
		"zero TTL":       {"s", []Option{WithDefaultTTL(0)}, "default TTL"},
		"zero capacity":  {"s", []Option{WithCapacity(0)}, "capacity"},
		"zero budget":    {"s", []Option{WithTimeoutBudget(0)}, "timeout budget"},
		"client and url": {"s", []Option{WithClient(tasking.NewClient()), WithAPIURL("http://127.0.0.1:1")}, "WithClient and WithAPIURL"},
	} {
		if _, err := New("x", c.secret, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error containing %q", name, err, c.want)
		}
	}
	if _, err := New("Bad Name", "s"); err == nil {
		t.Error("an invalid service name was accepted")
	}
	is, err := New("x", "s")
	if err != nil {
		t.Fatal(err)
	}
	defer is.Shutdown(context.Background())
	ok := func(context.Context, *Reply) service.Response { return service.OK(nil) }
	for _, name := range []string{"", "has space", strings.Repeat("a", 65)} {
		mustPanic(t, "handler name", func() { is.HandleReply(name, ok) })
	}
	mustPanic(t, `nil handler for "ok"`, func() { is.HandleReply("ok", nil) })
}

// mustPanic fails the test unless fn panics with a message containing want.
func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Errorf("no panic; want one saying %q", want)
		} else if msg := fmt.Sprint(v); !strings.Contains(msg, want) {
			t.Errorf("panic %q; want one containing %q", msg, want)
		}
	}()
	fn()
}

func TestPlatformFromRouting(t *testing.T) {
	r, _, err := parseDetection(json.RawMessage(`{"routing":{"sid":"s","plat":268435456},"detect":{}}`))
	if err != nil || r.Plat != Windows || r.Plat.String() != "windows" {
		t.Errorf("plat = %v %v", r.Plat, err)
	}
	if Linux.String() != "linux" || MacOS.String() != "macos" || Platform(7).String() != "Platform(0x7)" {
		t.Error("platform names")
	}
}
