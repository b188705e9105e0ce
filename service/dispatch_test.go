package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/tasking"
)

func TestEveryEventTypeDispatched(t *testing.T) {
	for _, etype := range EventTypes() {
		if etype == Health || etype == GetResource || etype == CommandEvent {
			continue // answered by the service itself; tested on their own
		}
		t.Run(string(etype), func(t *testing.T) {
			svc, _, _ := newTestService(t)
			var got *Request
			svc.Handle(etype, func(ctx context.Context, r *Request) Response {
				got = r
				return OK(map[string]string{"seen": string(r.EventType)})
			})
			res := postSigned(t, svc, envelopeFor(etype, map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}))
			if !res.Success || got == nil {
				t.Fatalf("handler not called or failed: %+v", res)
			}
			if got.EventType != etype || !strings.HasPrefix(got.MessageID, "mid-") || got.Org().JWT != "header.payload.signature" {
				t.Errorf("request fields: %+v", got)
			}
			if got.SID() != "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" {
				t.Errorf("SID() = %q", got.SID())
			}
			if !strings.Contains(string(res.Data), string(etype)) {
				t.Errorf("data = %s", res.Data)
			}
		})
	}
}

func TestTypedRegistrationMethods(t *testing.T) {
	svc, _, _ := newTestService(t)
	h := func(context.Context, *Request) Response { return OK(nil) }
	svc.OnOrgInstall(h)
	svc.OnOrgUninstall(h)
	svc.OnDetection(h)
	svc.OnRequest(h)
	svc.OnDeploymentEvent(h)
	svc.OnLogEvent(h)
	svc.OnServiceError(h)
	svc.OnNewSensor(h)
	svc.OnTick(SensorPer24h, h)
	mustPanic(t, "not a cron event type", func() { svc.OnTick(Detection, h) })
	want := []EventType{Health, OrgInstall, OrgUninstall, Detection, RequestEvent, DeploymentEvent, LogEvent, ServiceError, NewSensor, SensorPer24h}
	if got := health(t, svc).Metadata.Callbacks; !equalEtypes(got, want) {
		t.Errorf("callbacks = %v, want %v", got, want)
	}
}

func TestHandleRefusesBuiltinsAndUnknown(t *testing.T) {
	svc, _, _ := newTestService(t)
	h := func(context.Context, *Request) Response { return OK(nil) }
	mustPanic(t, "answered by the service itself", func() { svc.Handle(Health, h) })
	mustPanic(t, "answered by the service itself", func() { svc.Handle(GetResource, h) })
	mustPanic(t, "answered by the service itself", func() { svc.Handle(CommandEvent, h) })
	mustPanic(t, `unknown event type "bogus"`, func() { svc.Handle("bogus", h) })
	mustPanic(t, "nil handler for org_install", func() { svc.Handle(OrgInstall, nil) })
}

func TestNotImplemented(t *testing.T) {
	svc, _, _ := newTestService(t)
	for _, etype := range []EventType{OrgInstall, "no_such_etype", GetResource, CommandEvent} {
		res := postSigned(t, svc, envelopeFor(etype, nil))
		if res.Status != 200 || res.Success || res.Retry || res.Error != "not implemented" || string(res.Data) != "{}" {
			t.Errorf("%s: %+v", etype, res)
		}
	}
}

func TestVersionTooNew(t *testing.T) {
	svc, _, _ := newTestService(t)
	called := false
	svc.OnOrgInstall(func(context.Context, *Request) Response { called = true; return OK(nil) })
	env := envelopeFor(OrgInstall, nil)
	env["version"] = 2
	res := postSigned(t, svc, env)
	if res.Success || res.Retry || !strings.Contains(res.Error, "version 2") || called {
		t.Errorf("version 2 answered %+v (handler called: %v)", res, called)
	}
}

func TestExpiredDeadlineSkipsHandler(t *testing.T) {
	svc, _, _ := newTestService(t)
	called := false
	svc.OnOrgInstall(func(context.Context, *Request) Response { called = true; return OK(nil) })
	env := envelopeFor(OrgInstall, nil)
	env["deadline"] = time.Now().Add(-time.Second).Unix()
	res := postSigned(t, svc, env)
	if res.Success || called || !strings.Contains(res.Error, "deadline") {
		t.Errorf("expired deadline answered %+v (handler called: %v)", res, called)
	}
}

func TestDeadlineCarriedByContext(t *testing.T) {
	svc, _, _ := newTestService(t)
	want := time.Now().Add(42 * time.Second).Truncate(time.Millisecond)
	var got time.Time
	var ok bool
	svc.OnOrgInstall(func(ctx context.Context, r *Request) Response {
		got, ok = ctx.Deadline()
		return OK(nil)
	})
	env := envelopeFor(OrgInstall, nil)
	env["deadline"] = float64(want.UnixMilli()) / 1000 // a float, as the cloud may send
	postSigned(t, svc, env)
	if !ok || got.Sub(want).Abs() > time.Millisecond {
		t.Errorf("ctx deadline = %v (set %v), want %v", got, ok, want)
	}
	env["deadline"] = want.Unix() // an integer works too
	postSigned(t, svc, env)
	if !ok || got.Sub(want).Abs() > time.Second {
		t.Errorf("integer deadline: ctx deadline = %v, want %v", got, want)
	}
}

func TestPanicRecoveredAndServiceKeepsServing(t *testing.T) {
	svc, _, errOut := newTestService(t)
	svc.OnOrgInstall(func(context.Context, *Request) Response { panic("boom") })
	svc.OnOrgUninstall(func(context.Context, *Request) Response { return OK(nil) })
	res := postSigned(t, svc, envelopeFor(OrgInstall, nil))
	if res.Success || !res.Retry || !strings.Contains(res.Error, "boom") {
		t.Fatalf("panic answered %+v", res)
	}
	if !strings.Contains(errOut.String(), "handler panicked") || !strings.Contains(errOut.String(), "goroutine") {
		t.Errorf("panic not logged with its stack to stderr: %s", errOut)
	}
	if n := strings.Count(errOut.String(), "handler panicked"); n != 1 {
		t.Errorf("panic logged %d times, want once: %s", n, errOut)
	}
	if res := postSigned(t, svc, envelopeFor(OrgUninstall, nil)); !res.Success {
		t.Errorf("next request after a panic: %+v", res)
	}
}

func TestResponseHelpers(t *testing.T) {
	svc, _, _ := newTestService(t)
	cases := []struct {
		name          string
		resp          Response
		success, retr bool
		errText, data string
	}{
		{"ok nil", OK(nil), true, false, "", "{}"},
		{"ok data", OK(map[string]int{"n": 1}), true, false, "", `{"n":1}`},
		{"fail", Fail(errors.New("nope")), false, false, "nope", "{}"},
		{"failf", Failf("bad %d", 7), false, false, "bad 7", "{}"},
		{"retry", Retry(errors.New("later")), false, true, "later", "{}"},
		{"with data", Fail(errors.New("x")).WithData(map[string]bool{"partial": true}), false, false, "x", `{"partial":true}`},
		{"non-object data", OK([]int{1}), false, false, "data must be a JSON object", "{}"},
		{"unmarshalable data", OK(map[string]any{"c": make(chan int)}), false, false, "building response", "{}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc.OnOrgInstall(func(context.Context, *Request) Response { return c.resp })
			res := postSigned(t, svc, envelopeFor(OrgInstall, nil))
			if res.Success != c.success || res.Retry != c.retr || !strings.Contains(res.Error, c.errText) || string(res.Data) != c.data {
				t.Errorf("got %+v", res)
			}
		})
	}
}

func TestUseNamingAnEventTypeWrapsTheUserHandler(t *testing.T) {
	svc, _, _ := newTestService(t)
	var order []string
	svc.Use(func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) Response {
			order = append(order, "before")
			resp := next(ctx, r)
			order = append(order, "after")
			return resp
		}
	}, OrgInstall)
	// Wrapped without a user handler: implemented, answers success.
	if res := postSigned(t, svc, envelopeFor(OrgInstall, nil)); !res.Success {
		t.Fatalf("intercepted etype without handler: %+v", res)
	}
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		order = append(order, "user")
		return Failf("user says no")
	})
	res := postSigned(t, svc, envelopeFor(OrgInstall, nil))
	if res.Error != "user says no" {
		t.Errorf("user's response not the one sent: %+v", res)
	}
	if got := strings.Join(order, ","); got != "before,after,before,user,after" {
		t.Errorf("order = %s", got)
	}
	if got := health(t, svc).Metadata.Callbacks; !equalEtypes(got, []EventType{Health, OrgInstall}) {
		t.Errorf("callbacks = %v, want health and org_install", got)
	}
	ok := func(next HandlerFunc) HandlerFunc { return next }
	mustPanic(t, `cannot wrap event type "health"`, func() { svc.Use(ok, Health) })
	mustPanic(t, `cannot wrap event type "bogus"`, func() { svc.Use(ok, "bogus") })
	mustPanic(t, "nil middleware", func() { svc.Use(nil) })
}

func TestCallsInProgressUnderConcurrency(t *testing.T) {
	svc, _, _ := newTestService(t)
	const n = 100
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	mustTick(t, svc, OrgPer1h, func(context.Context, *Request) Response {
		entered <- struct{}{}
		<-release
		return OK(nil)
	})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if res := postSigned(t, svc, envelopeFor(OrgPer1h, nil)); !res.Success {
				t.Errorf("call failed: %+v", res)
			}
		})
	}
	for range n {
		<-entered
	}
	if got := health(t, svc).CallsInProgress; got != n {
		t.Errorf("calls_in_progress = %d with %d calls blocked, want %d", got, n, n)
	}
	close(release)
	wg.Wait()
	if got := health(t, svc).CallsInProgress; got != 0 {
		t.Errorf("calls_in_progress = %d after all returned", got)
	}
}

// mustTick registers h for a cron etype.
func mustTick(t *testing.T, s *Service, etype EventType, h HandlerFunc) {
	t.Helper()
	s.OnTick(etype, h)
}

func TestRequestAccessorsAndDecode(t *testing.T) {
	r := NewRequest(NewSensor, tasking.Org{ID: "oid", JWT: "jwt"}, json.RawMessage(`{"sid":"s","n":3,"ok":true,"f":1.5}`), nil)
	if r.SID() != "s" {
		t.Errorf("SID = %q", r.SID())
	}
	if v, ok := r.Bool("ok"); !ok || !v {
		t.Errorf("Bool = %v %v", v, ok)
	}
	if v, ok := r.Float("f"); !ok || v != 1.5 {
		t.Errorf("Float = %v %v", v, ok)
	}
	if _, ok := r.Int("n"); ok {
		t.Error("undeclared number reported as int64")
	}
	var v struct{ N int }
	if err := r.Decode(&v); err != nil || v.N != 3 {
		t.Errorf("Decode = %v %+v", err, v)
	}
	if err := NewRequest(Health, tasking.Org{}, nil, nil).Decode(&v); err == nil {
		t.Error("Decode of empty data succeeded")
	}
	if err := NewRequest(Health, tasking.Org{}, nil, nil).Org().Valid(); err == nil {
		t.Error("health's Org() is valid")
	}
	want := tasking.Org{ID: "11111111-2222-3333-4444-555555555555", JWT: "jwt"}
	if got := NewRequest(OrgInstall, want, nil, nil).Org(); got != want || got.Valid() != nil {
		t.Errorf("Org() = %#v, want %#v", got, want)
	}
}

func equalEtypes(a, b []EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUseWithoutEventTypesSeesEveryEventButHealth(t *testing.T) {
	svc, _, _ := newTestService(t)
	var seen []EventType
	svc.Use(func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) Response {
			seen = append(seen, r.EventType)
			return next(ctx, r).WithData(map[string]bool{"wrapped": true})
		}
	})
	svc.OnRequest(func(context.Context, *Request) Response { return OK(nil) })
	svc.PublishResource("r", "c", nil)
	for _, e := range []EventType{Health, RequestEvent, GetResource, OrgInstall} {
		postSigned(t, svc, envelopeFor(e, map[string]any{"resource": "r"}))
	}
	if len(seen) != 2 || seen[0] != RequestEvent || seen[1] != GetResource {
		t.Errorf("wrapper saw %v; want request and get_resource only (health built in, org_install not implemented)", seen)
	}
	if got := health(t, svc).Metadata.Callbacks; !equalEtypes(got, []EventType{Health, RequestEvent, GetResource}) {
		t.Errorf("Use without event types changed callbacks: %v", got)
	}
}

func TestFailOrRetry(t *testing.T) {
	if r := FailOrRetry(&tasking.APIError{Status: 503}); !r.Retry || r.Err == nil {
		t.Errorf("503: %+v", r)
	}
	if r := FailOrRetry(fmt.Errorf("tasking sensor: %w", tasking.ErrTimeout)); !r.Retry {
		t.Errorf("timeout: %+v", r)
	}
	if r := FailOrRetry(&tasking.APIError{Status: 403}); r.Retry || r.Err == nil {
		t.Errorf("403: %+v", r)
	}
	if r := FailOrRetry(errors.New("bad input")); r.Retry {
		t.Errorf("plain error: %+v", r)
	}
}
