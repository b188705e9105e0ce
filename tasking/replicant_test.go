package tasking

import (
	"testing"
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
			r := ReplicantRule(tt.service)
			if r.Name != tt.name || ReplicantRuleName(tt.service) != tt.name {
				t.Errorf("name %q / %q, want %q", r.Name, ReplicantRuleName(tt.service), tt.name)
			}
			if got := ReplicantDetectionName(tt.service); got != tt.detection {
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

// The exact bytes, so a reader can compare them with PROTOCOL.md §6.
func TestReplicantRuleBytes(t *testing.T) {
	r := ReplicantRule("demo")
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
	if got := ReplicantPrefix("a"); got != "svc-a-ex/" {
		t.Errorf("ReplicantPrefix(a) = %q, want svc-a-ex/", got)
	}
}
