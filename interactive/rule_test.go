package interactive

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lcsvc/lcservice/internal/token"
)

func TestReplicantRuleMatchesProtocol(t *testing.T) {
	tests := []struct {
		service, name, detection, detect, respond string
	}{
		{
			service:   "demo",
			name:      "svc-demo-ex",
			detection: "__svc-demo-ex",
			detect: `{"op":"and","rules":[
			  {"op":"starts with","path":"routing/investigation_id","value":"svc-demo-ex/"},
			  {"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`,
			respond: `[{"action":"report","name":"__svc-demo-ex"}]`,
		},
		{
			service:   "pkg_audit-2",
			name:      "svc-pkg_audit-2-ex",
			detection: "__svc-pkg_audit-2-ex",
			detect: `{"op":"and","rules":[
			  {"op":"starts with","path":"routing/investigation_id","value":"svc-pkg_audit-2-ex/"},
			  {"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`,
			respond: `[{"action":"report","name":"__svc-pkg_audit-2-ex"}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			r := replicantRule(tt.service)
			if r.Name != tt.name || token.RuleName(tt.service) != tt.name {
				t.Errorf("name %q / %q, want %q", r.Name, token.RuleName(tt.service), tt.name)
			}
			if got := token.DetectionName(tt.service); got != tt.detection {
				t.Errorf("detection name %q, want %q", got, tt.detection)
			}
			if r.Namespace != "managed" || !r.Enabled {
				t.Errorf("namespace %q enabled %v, want managed and enabled", r.Namespace, r.Enabled)
			}
			if !sameJSON(t, r.Detect, []byte(tt.detect)) {
				t.Errorf("detect = %s\nwant %s", r.Detect, tt.detect)
			}
			if !sameJSON(t, r.Respond, []byte(tt.respond)) {
				t.Errorf("respond = %s\nwant %s", r.Respond, tt.respond)
			}
		})
	}
}

// The exact bytes the platform stores.
func TestReplicantRuleBytes(t *testing.T) {
	r := replicantRule("demo")
	const detect = `{"op":"and","rules":[{"op":"starts with","path":"routing/investigation_id","value":"svc-demo-ex/"},{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`
	const respond = `[{"action":"report","name":"__svc-demo-ex"}]`
	if string(r.Detect) != detect {
		t.Errorf("detect = %s\nwant   %s", r.Detect, detect)
	}
	if string(r.Respond) != respond {
		t.Errorf("respond = %s\nwant    %s", r.Respond, respond)
	}
}

func TestReplicantPrefixKeepsSlash(t *testing.T) {
	if got := token.Prefix("a"); got != "svc-a-ex/" {
		t.Errorf("Prefix(a) = %q, want svc-a-ex/", got)
	}
}

// sameJSON reports whether a and b encode the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
