package interactive

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestHandleTimeoutRefusesBadRegistrations(t *testing.T) {
	is, err := New("x", "s")
	if err != nil {
		t.Fatal(err)
	}
	defer is.Shutdown(context.Background())
	mustPanic(t, "handler name", func() { is.HandleTimeout("bad name", func(context.Context, *Timeout) {}) })
	mustPanic(t, "nil handler", func() { is.HandleTimeout("x", nil) })
}

func TestParseReplyRequest(t *testing.T) {
	routing := `{"oid":"o","sid":"s","hostname":"h","plat":536870912,"event_type":"OS_VERSION_REP","event_time":1700000000000,"investigation_id":"svc-x-ex/abc"}`
	quoted, _ := json.Marshal(routing)
	for name, data := range map[string]string{
		"objects":           `{"event":{"BUILD":1},"routing":` + routing + `}`,
		"routing as text":   `{"event":{"BUILD":1},"routing":` + string(quoted) + `}`,
		"event as text":     `{"event":"{\"BUILD\":1}","routing":` + routing + `}`,
		"detection-shaped":  `{"routing":` + routing + `,"detect":{"event":{"BUILD":1},"routing":` + routing + `}}`,
		"detect routing in": `{"detect":{"event":{"BUILD":1},"routing":` + routing + `}}`,
	} {
		r, ev, err := parseReplyRequest(json.RawMessage(data))
		if err != nil || r.InvestigationID != "svc-x-ex/abc" || r.SID != "s" || r.Plat != Linux || string(ev) != `{"BUILD":1}` {
			t.Errorf("%s: %+v %s %v", name, r, ev, err)
		}
	}
	for _, bad := range []string{`[]`, `{"routing":7}`, `{"routing":"not json"}`} {
		if _, _, err := parseReplyRequest(json.RawMessage(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
	if r, _, err := parseReplyRequest(json.RawMessage(`{}`)); err == nil && r.InvestigationID != "" {
		t.Errorf("empty: %+v", r)
	}
	if !strings.HasPrefix(ReplyAction, "__lcsvc_") || !strings.HasPrefix(TimeoutAction, "__lcsvc_") {
		t.Error("internal actions must carry the reserved prefix")
	}
}
