package interactive

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

func TestNamedTimeoutHandlerRunsWithoutAClosure(t *testing.T) {
	api := newStubAPI(t)
	clock := tracking.NewManualClock(time.Now())
	var named atomic.Int32
	var got *Timeout
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("h", func(context.Context, *Reply) service.Response { return service.OK(nil) })
		is.HandleTimeout("h", func(ctx context.Context, to *Timeout) {
			named.Add(1)
			got = to
		})
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_users", TTL(time.Minute), Via("h"), WithState(map[string]int{"n": 7})); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	}, WithClock(clock))
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	clock.Advance(2 * time.Minute)
	var st struct{ N int }
	if named.Load() != 1 || got.SID != testSID || got.Command != "os_users" || got.State(&st) != nil || st.N != 7 {
		t.Errorf("named timeout: %d %+v", named.Load(), got)
	}
	mustPanic(t, "handler name", func() { h.is.HandleTimeout("bad name", func(context.Context, *Timeout) {}) })
	mustPanic(t, "nil handler", func() { h.is.HandleTimeout("x", nil) })
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
