package lctest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/lctest"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenEvents and TestGoldenDetections")

// goldenHosts are the sensors whose answers the golden files pin.
var goldenHosts = []lctest.SensorConfig{
	{Hostname: "golden-win", Platform: lctest.Windows},
	{Hostname: "golden-lnx", Platform: lctest.Linux},
	{Hostname: "golden-win", Platform: lctest.Windows, Dialect: lctest.CommandsReference},
	{Hostname: "golden-lnx", Platform: lctest.Linux, Dialect: lctest.CommandsReference},
}

// TestGoldenEvents pins the shape of every event the fake sensors send,
// one golden file per event type, each following the sample of the
// public LimaCharlie documentation page it names. Values that change from
// run to run (ids, times, the task's own atoms) are replaced by
// "<volatile>"; everything else is a function of the hostname and
// platform. Run with -update to rewrite the files after a deliberate
// change.
func TestGoldenEvents(t *testing.T) {
	cloud := lctest.New(t)
	org := cloud.NewOrg("golden")
	var win, lnx, winCmds, lnxCmds *lctest.Sensor
	for i, cfg := range goldenHosts {
		s := org.AddSensor(cfg)
		switch i {
		case 0:
			win = s
		case 1:
			lnx = s
		case 2:
			winCmds = s
		case 3:
			lnxCmds = s
		}
	}
	suspicious, pid := suspiciousProcess(t, lnx)
	tests := []struct {
		file   string // under testdata/golden, the event type and its dialect
		doc    string // the public documentation page the shape follows
		sensor *lctest.Sensor
		line   string
	}{
		{"events/CLOUD_NOTIFICATION", "EDR events reference: CLOUD_NOTIFICATION", win, "exfil_add NEW_PROCESS"},
		{"events/OS_PACKAGES_REP", "EDR events reference: OS_PACKAGES_REP", win, "os_packages"},
		{"events/OS_PROCESSES_REP", "EDR events reference: OS_PROCESSES_REP", lnx, "os_processes"},
		{"events/OS_SERVICES_REP", "EDR events reference: OS_SERVICES_REP", win, "os_services"},
		{"events/OS_AUTORUNS_REP", "EDR events reference: OS_AUTORUNS_REP", win, "os_autoruns"},
		{"events/OS_VERSION_REP", "EDR events reference: OS_VERSION_REP", win, "os_version"},
		{"events/OS_USERS_REP", "EDR events reference: OS_USERS_REP", lnx, "os_users"},
		{"events/OS_KILL_PROCESS_REP", "EDR events reference: OS_KILL_PROCESS_REP", lnx, "os_kill_process --pid 1"},
		{"events/DIR_LIST_REP", "EDR events reference: DIR_LIST_REP", win, `dir_list "C:\Users" * --depth 3`},
		{"events/FILE_INFO_REP", "EDR events reference: FILE_INFO_REP", win, `file_info --file_path "C:\Windows\System32\svchost.exe"`},
		{"events/FILE_HASH_REP", "EDR events reference: FILE_HASH_REP", win, `file_hash -f "C:\Windows\System32\svchost.exe"`},
		{"events/FILE_GET_REP", "EDR events reference: FILE_GET_REP", lnx, "file_get -f /etc/hostname"},
		{"events/NETSTAT_REP", "EDR events reference: NETSTAT_REP", lnx, "netstat"},
		{"events/YARA_DETECTION", "EDR events reference: YARA_DETECTION", lnx, fmt.Sprintf(`yara_scan hive://yara/malware-rule -f "%s"`, suspicious)},
		{"events/HISTORY_DUMP_REP", "EDR events reference: HISTORY_DUMP_REP", lnx, "history_dump"},
		{"events/NEW_PROCESS", "EDR events reference: NEW_PROCESS", lnx, "history_dump -e NEW_PROCESS"},
		{"events/DNS_REQUEST", "EDR events reference: DNS_REQUEST", lnx, "history_dump --event DNS_REQUEST"},
		{"events/NEW_TCP4_CONNECTION", "EDR events reference: NEW_TCP4_CONNECTION", lnx, "history_dump -e NEW_TCP4_CONNECTION"},
		{"events/RECEIPT", "EDR events reference: RECEIPT; error codes reference", lnx, "file_get /etc/hosts /etc/passwd"},
		{"commands-reference/NETWORK_CONNECTIONS", "Endpoint commands reference: netstat", lnxCmds, "netstat"},
		{"commands-reference/EXISTING_PROCESS", "Endpoint commands reference: os_processes", lnxCmds, fmt.Sprintf("os_processes --pid %d", pid)},
		{"commands-reference/OS_PACKAGES_REP", "Endpoint commands reference: os_packages", winCmds, "os_packages"},
		{"commands-reference/DIR_LIST_REP", "Endpoint commands reference: dir_list", winCmds, `dir_list "C:\Users" * --depth 3`},
		{"commands-reference/FILE_HASH_REP", "Endpoint commands reference: file_hash", lnxCmds, "file_hash --file_path /etc/passwd"},
	}
	for i, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Logf("follows %s", tt.doc)
			inv := fmt.Sprintf("golden/%d", i)
			taskREST(t, cloud, org, tt.sensor.SID, inv, tt.line)
			if err := cloud.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			want := filepath.Base(tt.file)
			for _, e := range eventsOf(t, cloud, inv) {
				if e.eventType == want {
					checkGolden(t, tt.file, tt.doc, e.body)
					return
				}
			}
			t.Fatalf("%q answered no %s", tt.line, want)
		})
	}
}

// TestGoldenDetections pins the detection webhook's data, in the shape
// the cloud sends by default and in the nested one.
func TestGoldenDetections(t *testing.T) {
	for _, tt := range []struct {
		file  string
		doc   string
		shape lctest.DetectionShape
	}{
		{"detections/documented", "Output stream structures: detection stream", lctest.DocumentedDetection},
		{"detections/nested", "the reference Python framework's detect.routing", lctest.NestedDetection},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Logf("follows %s", tt.doc)
			cloud := lctest.New(t, lctest.WithDetectionShape(tt.shape))
			org := cloud.NewOrg("golden")
			s := org.AddSensor(goldenHosts[0])
			svc, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: "golden", Secret: "s", Handler: subscriber("golden-report")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Install(t.Context(), org); err != nil {
				t.Fatal(err)
			}
			err = org.SetRule(lctest.StoredRule{Name: "golden-rule", Enabled: true, Tags: []string{"golden"},
				Detect:  json.RawMessage(`{"event":"OS_VERSION_REP","op":"exists","path":"event/BUILD_NUMBER"}`),
				Respond: json.RawMessage(`[{"action":"report","name":"golden-report","priority":3,"metadata":{"playbook":"none"}}]`)})
			if err != nil {
				t.Fatal(err)
			}
			taskREST(t, cloud, org, s.SID, "golden/detection", "os_version")
			if err := cloud.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, a := range cloud.Activities() {
				if a.Kind == lctest.ActivityWebhook && a.What == "detection" {
					var env struct{ Data json.RawMessage }
					if err := json.Unmarshal(a.Body, &env); err != nil {
						t.Fatal(err)
					}
					checkGolden(t, tt.file, tt.doc, env.Data)
					return
				}
			}
			t.Fatal("no detection webhook was sent")
		})
	}
}

// volatile are the fields whose values change from run to run.
var volatile = map[string]bool{
	"oid": true, "sid": true, "iid": true, "did": true, "event_id": true, "event_time": true, "this": true,
	"detect_id": true, "gen_time": true, "link": true,
	"HCP_ORG_ID": true, "HCP_SENSOR_ID": true, "HCP_INSTALLER_ID": true, "TIMESTAMP": true,
}

// checkGolden compares the JSON body, its volatile values replaced, with
// testdata/golden/<file>.json, or writes it there with -update.
func checkGolden(t *testing.T, file, doc string, body []byte) {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"follows": doc, "sample": scrub(v)}); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", "golden", file+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the cloud sends now (run with -update after a deliberate change):\n%s", path, got)
	}
}

// scrub replaces the volatile values of v.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if volatile[k] {
				x[k] = "<volatile>"
			} else {
				x[k] = scrub(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = scrub(x[i])
		}
	}
	return v
}

// recordedEvent is one event of the record.
type recordedEvent struct {
	eventType string
	body      json.RawMessage
}

// eventsOf returns the events of the record answering the task inv.
func eventsOf(t *testing.T, c *lctest.Cloud, inv string) []recordedEvent {
	t.Helper()
	var out []recordedEvent
	for _, a := range c.Activities() {
		if a.Kind == lctest.ActivityEvent && a.InvestigationID == inv {
			out = append(out, recordedEvent{a.What, a.Body})
		}
	}
	return out
}

// suspiciousProcess returns the path and pid of a process s runs from a
// temporary directory.
func suspiciousProcess(t *testing.T, s *lctest.Sensor) (string, int) {
	t.Helper()
	for _, e := range lctest.BuiltinAnswer(s, lctest.Command{Name: "os_processes", Line: "os_processes"}) {
		for _, p := range e.Payload["PROCESSES"].([]map[string]any) {
			if path := p["FILE_PATH"].(string); strings.HasPrefix(path, "/tmp/") {
				return path, p["PROCESS_ID"].(int)
			}
		}
	}
	t.Fatal("the sensor runs nothing from /tmp")
	return "", 0
}
