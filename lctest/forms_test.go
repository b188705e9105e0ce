package lctest_test

import (
	"fmt"
	"testing"

	"github.com/lcsvc/lcservice/lctest"
)

// TestDocumentedCommandForms tasks a fake sensor, through the REST API,
// with every form LimaCharlie's public documentation writes the commands
// in, and checks each gets the command's answer, not a bad-arguments
// RECEIPT.
func TestDocumentedCommandForms(t *testing.T) {
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	lnx := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	win := org.AddSensor(lctest.SensorConfig{Hostname: "desk-1", Platform: lctest.Windows})
	exe, pid := suspiciousProcess(t, lnx)
	const rule = `"rule test { strings: $a = \"malware\" condition: $a }"`
	tests := []struct {
		doc    string // where the documentation writes this form
		sensor *lctest.Sensor
		line   string
		want   string // the answer's event type
	}{
		{"endpoint commands reference, positional", lnx, "file_get /etc/passwd", "FILE_GET_REP"},
		{"endpoint commands reference", win, `file_get --file_path "C:\Windows\System32\calc.exe"`, "FILE_GET_REP"},
		{"reliable tasking extension example", lnx, "file_get -f /etc/passwd", "FILE_GET_REP"},
		{"positional", lnx, "file_hash /etc/passwd", "FILE_HASH_REP"},
		{"endpoint commands reference", lnx, `file_hash --file_path "/etc/passwd"`, "FILE_HASH_REP"},
		{"-f", lnx, "file_hash -f /etc/passwd", "FILE_HASH_REP"},
		{"positional", win, `file_info "C:\Program Files\app.exe"`, "FILE_INFO_REP"},
		{"endpoint commands reference", win, `file_info --file_path "C:\Program Files\app.exe"`, "FILE_INFO_REP"},
		{"-f", win, `file_info -f "C:\Program Files\app.exe"`, "FILE_INFO_REP"},
		{"endpoint commands reference, file", lnx, fmt.Sprintf(`yara_scan --file_path "%s" --rule %s`, exe, rule), "YARA_DETECTION"},
		{"endpoint commands reference, process", lnx, fmt.Sprintf(`yara_scan --pid %d --rule %s`, pid, rule), "YARA_DETECTION"},
		{"D&R examples, process", lnx, fmt.Sprintf(`yara_scan hive://yara/malware-rule --pid "%d"`, pid), "YARA_DETECTION"},
		{"D&R examples, file", lnx, fmt.Sprintf(`yara_scan hive://yara/malware-rule -f "%s"`, exe), "YARA_DETECTION"},
		{"Python SDK, process expression", lnx, "yara_scan -e *kworkerd " + rule, "YARA_DETECTION"},
		{"config hive yara page", lnx, "yara_scan hive://yara/my-rule", "YARA_DETECTION"},
		{"endpoint commands reference", lnx, "history_dump", "HISTORY_DUMP_REP"},
		{"EDR events reference", lnx, "history_dump -e NEW_PROCESS", "HISTORY_DUMP_REP"},
		{"long flag", lnx, "history_dump --event DNS_REQUEST", "HISTORY_DUMP_REP"},
		{"endpoint commands reference", win, `dir_list "C:\Windows\System32" "*.exe" --depth 1`, "DIR_LIST_REP"},
		{"endpoint commands reference", lnx, fmt.Sprintf("os_kill_process --pid %d", pid), "OS_KILL_PROCESS_REP"},
	}
	for i, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			inv := fmt.Sprintf("forms/%d", i)
			taskREST(t, cloud, org, tt.sensor.SID, inv, tt.line)
			if err := cloud.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			events := eventsOf(t, cloud, inv)
			if len(events) < 2 || events[0].eventType != "CLOUD_NOTIFICATION" || events[1].eventType != tt.want {
				var types []string
				for _, e := range events {
					types = append(types, e.eventType+" "+string(e.body))
				}
				t.Fatalf("%s form answered %v, want CLOUD_NOTIFICATION then %s", tt.doc, types, tt.want)
			}
		})
	}
}
