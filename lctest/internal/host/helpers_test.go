package host

import (
	"encoding/json"
	"testing"
	"time"
)

// fixedNow stamps the answers of test hosts, so that runs compare equal.
var fixedNow = func() time.Time { return time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC) }

// newHosts returns one host per platform.
func newHosts(d Dialect) map[Platform]*Host {
	return map[Platform]*Host{
		Windows: New(Config{Hostname: "desk-1", Platform: Windows, Dialect: d, Now: fixedNow}),
		Linux:   New(Config{Hostname: "web-1", Platform: Linux, Dialect: d, Now: fixedNow}),
		MacOS:   New(Config{Hostname: "mac-1", Platform: MacOS, Dialect: d, Now: fixedNow}),
	}
}

// run answers line on h, payloads as plain JSON with the event type in
// "_type".
func run(t *testing.T, h *Host, line string) []map[string]any {
	t.Helper()
	cmd, err := ParseCommand(line)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range h.Answer(cmd) {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		p["_type"] = e.Type
		out = append(out, p)
	}
	return out
}

// list returns the list under key of an answer.
func list(t *testing.T, p map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := p[key].([]any)
	if !ok {
		t.Fatalf("%s: %q is not a list: %v", p["_type"], key, p[key])
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// hasFields fails the test unless m has every field.
func hasFields(t *testing.T, what string, m map[string]any, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Errorf("%s lacks %s: %v", what, f, m)
		}
	}
}

// lacksFields fails the test if m has any of fields.
func lacksFields(t *testing.T, what string, m map[string]any, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := m[f]; ok {
			t.Errorf("%s has %s, which no public sample shows: %v", what, f, m)
		}
	}
}

// isReceiptError reports whether events is one failing RECEIPT.
func isReceiptError(events []map[string]any) bool {
	if len(events) != 1 || events[0]["_type"] != "RECEIPT" {
		return false
	}
	code, _ := events[0]["ERROR"].(float64)
	return code != 0 && code != 200 && events[0]["ERROR_MESSAGE"] != ""
}

// procs returns the processes os_processes lists on h.
func procs(t *testing.T, h *Host) []map[string]any {
	t.Helper()
	return list(t, run(t, h, "os_processes")[0], "PROCESSES")
}
