package dr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStore(t *testing.T) {
	s := NewStore()
	good := Rule{Namespace: "managed", Name: "a", Enabled: true,
		Detect:  json.RawMessage(`{"op":"is","path":"routing/event_type","value":"RECEIPT"}`),
		Respond: json.RawMessage(`[{"action":"report","name":"seen","priority":2}]`)}
	first := s.Put(good)
	if first.Err != nil || first.Created.IsZero() || !first.Created.Equal(first.Updated) {
		t.Fatalf("stored %+v", first)
	}
	again := s.Put(good)
	if !again.Created.Equal(first.Created) || again.Updated.Before(first.Updated) {
		t.Errorf("replacing a rule lost its creation time: %+v", again)
	}
	broken := s.Put(Rule{Name: "b", Enabled: true, Detect: json.RawMessage(`{"op":"bogus"}`), Respond: json.RawMessage(`[]`)})
	if broken.Namespace != DefaultNamespace || broken.Err == nil || !strings.Contains(broken.Err.Error(), "unknown operator") {
		t.Errorf("broken rule stored as %+v", broken)
	}
	s.Put(Rule{Namespace: "managed", Name: "off", Detect: good.Detect, Respond: good.Respond})

	if got := names(s.List("managed")); got != "a,off" {
		t.Errorf("List(managed) = %s", got)
	}
	if got := names(s.List("")); got != "b,a,off" {
		t.Errorf("List() = %s", got)
	}

	doc, _ := Decode([]byte(`{"routing":{"event_type":"RECEIPT"},"event":{}}`))
	m := s.Evaluate(doc)
	if len(m) != 1 || m[0].Rule.Name != "a" || m[0].Reports[0].Name != "seen" || m[0].Reports[0].Priority != 2 {
		t.Errorf("Evaluate = %+v; want only the enabled, working rule", m)
	}
	if !s.Delete("managed", "a") || s.Delete("managed", "a") {
		t.Error("Delete did not report the rule's presence")
	}
	if _, ok := s.Get("managed", "a"); ok {
		t.Error("a deleted rule is still there")
	}
}

func names(rules []Rule) string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}
