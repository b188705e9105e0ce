package host

import (
	"fmt"
	"strings"
	"testing"
)

// TestDocumentedCommandForms checks that every form LimaCharlie's
// documentation writes a command in gets the command's answer, not a
// bad-arguments RECEIPT: file paths positional, as --file_path (endpoint
// commands reference) and as -f (the reliable tasking and D&R examples);
// yara_scan's --rule, --pid and --file_path (endpoint commands reference),
// its positional rule with --pid or -f (D&R examples) and -e (Python SDK);
// history_dump's -e (EDR events reference).
func TestDocumentedCommandForms(t *testing.T) {
	hosts := newHosts(EventsReference)
	lin, win := hosts[Linux], hosts[Windows]
	var suspicious map[string]any
	for _, p := range procs(t, lin) {
		if strings.Contains(p["FILE_PATH"].(string), "/tmp/") {
			suspicious = p
		}
	}
	pid, exe := suspicious["PROCESS_ID"], suspicious["FILE_PATH"].(string)
	tests := []struct {
		h    *Host
		line string
		want string // the event type of the first event
	}{
		{lin, "file_get /etc/passwd", "FILE_GET_REP"},
		{lin, "file_get --file_path /etc/passwd", "FILE_GET_REP"},
		{lin, "file_get --file_path=/etc/passwd", "FILE_GET_REP"},
		{lin, "file_get -f /etc/passwd", "FILE_GET_REP"},
		{win, `file_get --file_path "C:\Windows\System32\calc.exe"`, "FILE_GET_REP"},
		{lin, "file_hash /etc/passwd", "FILE_HASH_REP"},
		{lin, `file_hash --file_path "/etc/passwd"`, "FILE_HASH_REP"},
		{lin, "file_hash -f /etc/passwd", "FILE_HASH_REP"},
		{lin, "file_info /etc/passwd", "FILE_INFO_REP"},
		{win, `file_info --file_path "C:\Program Files\app.exe"`, "FILE_INFO_REP"},
		{lin, "file_info -f /etc/passwd", "FILE_INFO_REP"},
		{lin, fmt.Sprintf(`yara_scan --file_path %s --rule "rule test { strings: $a = \"malware\" condition: $a }"`, exe), "YARA_DETECTION"},
		{lin, fmt.Sprintf(`yara_scan --pid %v --rule "rule test { strings: $a = \"malware\" condition: $a }"`, pid), "YARA_DETECTION"},
		{lin, fmt.Sprintf(`yara_scan hive://yara/malware-rule --pid "%v"`, pid), "YARA_DETECTION"},
		{lin, fmt.Sprintf(`yara_scan hive://yara/malware-rule -f "%s"`, exe), "YARA_DETECTION"},
		{lin, "yara_scan -e *kworkerd rule1", "YARA_DETECTION"},
		{lin, "yara_scan --process_expr kworkerd hive://yara/x", "YARA_DETECTION"},
		{lin, "yara_scan hive://yara/my-rule", "YARA_DETECTION"},
		{lin, "history_dump", "HISTORY_DUMP_REP"},
		{lin, "history_dump -e NEW_PROCESS", "HISTORY_DUMP_REP"},
		{lin, "history_dump --event DNS_REQUEST", "HISTORY_DUMP_REP"},
		{lin, fmt.Sprintf("history_dump -a %s", lin.img.atom(int(pid.(float64)))), "HISTORY_DUMP_REP"},
		{lin, fmt.Sprintf("history_dump --rootAtom %s", lin.img.atom(int(pid.(float64)))), "HISTORY_DUMP_REP"},
		{lin, `dir_list "/etc" "*" --depth 1`, "DIR_LIST_REP"},
		{lin, fmt.Sprintf("os_kill_process --pid %v", pid), "OS_KILL_PROCESS_REP"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			events := run(t, tt.h, tt.line)
			if events[0]["_type"] != tt.want {
				t.Fatalf("first event %v, want %s: %v", events[0]["_type"], tt.want, events)
			}
		})
	}
	// Every path form answers the same.
	a, b, c := run(t, lin, "file_hash /etc/passwd"), run(t, lin, "file_hash --file_path /etc/passwd"), run(t, lin, "file_hash -f /etc/passwd")
	if a[0]["HASH"] != b[0]["HASH"] || b[0]["HASH"] != c[0]["HASH"] {
		t.Error("the path forms of file_hash answer differently")
	}
}

func TestYaraRuleNames(t *testing.T) {
	for rule, want := range map[string]string{
		"hive://yara/malware-rule":                 "malware-rule",
		"rule test { condition: true }":            "test",
		"rule evil: tag { condition: true }":       "evil",
		"sig1":                                     "sig1",
		"  rule  spaced{ condition: true }":        "spaced",
		"import \"pe\" rule x { condition: true }": "import \"pe\" rule x { condition: true }",
	} {
		if got := ruleName(rule); got != want {
			t.Errorf("ruleName(%q) = %q, want %q", rule, got, want)
		}
	}
}

func TestHistoryFilters(t *testing.T) {
	h := newHosts(EventsReference)[Linux]
	types := func(line string) string {
		var out []string
		for _, e := range run(t, h, line)[1:] {
			out = append(out, e["_type"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := types("history_dump"); got != "NEW_PROCESS,NEW_PROCESS,DNS_REQUEST,NEW_TCP4_CONNECTION" {
		t.Errorf("history_dump = %s", got)
	}
	if got := types("history_dump -e NEW_PROCESS"); got != "NEW_PROCESS,NEW_PROCESS" {
		t.Errorf("-e NEW_PROCESS = %s", got)
	}
	cache := h.cache()
	first, last := cache[0], cache[1]
	if got := types("history_dump -a " + last.This); got != "NEW_PROCESS" {
		t.Errorf("-a = %s", got)
	}
	// The first suspicious process started the second, which made the
	// connections: all three descend from the first.
	if got := types("history_dump -r " + first.This); got != "NEW_PROCESS,DNS_REQUEST,NEW_TCP4_CONNECTION" {
		t.Errorf("-r = %s", got)
	}
	if got := types("history_dump -r " + last.This + " -e DNS_REQUEST"); got != "DNS_REQUEST" {
		t.Errorf("-r with -e = %s", got)
	}
}

func TestNotification(t *testing.T) {
	n := Notification("exfil_add", "svc-x-ex/tok", Ident{OID: "c82e5c17-d519-4ef5-a4ac-c454a95d31db", SID: "8fc370e6-699a-4985-8e75-c1316b725570", Platform: Windows, Arch: 2})
	if n.Type != "CLOUD_NOTIFICATION" || n.Payload["NOTIFICATION_ID"] != "ADD_EXFIL_EVENT_REQ" || n.Payload["EXPIRY"] != 0 {
		t.Fatalf("notification = %+v", n)
	}
	if inv := n.Payload["NOTIFICATION"].(map[string]any)["INVESTIGATION_ID"]; inv != "svc-x-ex/tok" {
		t.Errorf("INVESTIGATION_ID = %v", inv)
	}
	id := n.Payload["HCP_IDENT"].(map[string]any)
	if id["HCP_ORG_ID"] != "c82e5c17d5194ef5a4acc454a95d31db" || id["HCP_INSTALLER_ID"] != strings.Repeat("0", 32) || id["HCP_PLATFORM"] != uint32(Windows) {
		t.Errorf("HCP_IDENT = %v", id)
	}
	for cmd, want := range map[string]string{"os_packages": "OS_PACKAGES_REQ", "history_dump": "HISTORY_DUMP_REQ", "custom": "CUSTOM_REQ"} {
		if got := Notification(cmd, "", Ident{}).Payload["NOTIFICATION_ID"]; got != want {
			t.Errorf("%s: NOTIFICATION_ID %v, want %s", cmd, got, want)
		}
	}
}
