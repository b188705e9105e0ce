package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/tasking"
)

var testOrg = tasking.Org{ID: "11111111-2222-3333-4444-555555555555", JWT: "jwt"}

func TestDispatchRunsMiddlewareValidationAndHandler(t *testing.T) {
	svc, out, _ := newTestService(t)
	svc.SetRequestParams(Params{"n": {Type: ParamInt, Required: true}})
	var order []string
	svc.Use(func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) Response {
			order = append(order, "mw")
			return next(ctx, r)
		}
	})
	var got *Request
	svc.OnRequest(func(ctx context.Context, r *Request) Response {
		order = append(order, "handler")
		got = r
		if _, ok := ctx.Deadline(); !ok {
			t.Error("no deadline on ctx")
		}
		r.Logger().Info("handled")
		return OK(map[string]any{"ok": true})
	})

	req := NewRequest(RequestEvent, testOrg, json.RawMessage(`{"n":"7"}`), nil)
	req.MessageID, req.Action, req.Deadline = "key-1", "request", time.Now().Add(time.Minute)
	resp := svc.Dispatch(t.Context(), req)
	if !resp.Success || strings.Join(order, ",") != "mw,handler" {
		t.Fatalf("resp %+v, order %v", resp, order)
	}
	if n, ok := got.Int("n"); !ok || n != 7 {
		t.Errorf("param n = %v %v: want the validated int64", n, ok)
	}
	if !strings.Contains(out.String(), `"action":"request"`) || !strings.Contains(out.String(), `"mid":"key-1"`) {
		t.Errorf("log lacks action or mid: %s", out.String())
	}

	bad := NewRequest(RequestEvent, testOrg, json.RawMessage(`{}`), nil)
	if resp := svc.Dispatch(t.Context(), bad); resp.Success || resp.Retry || !strings.Contains(resp.Err.Error(), "missing parameter n") {
		t.Errorf("invalid params: %+v", resp)
	}
	if resp := svc.Dispatch(t.Context(), NewRequest(NewSensor, testOrg, nil, nil)); resp.Success || resp.Err.Error() != "not implemented" {
		t.Errorf("unregistered: %+v", resp)
	}
	past := NewRequest(RequestEvent, testOrg, json.RawMessage(`{"n":1}`), nil)
	past.Deadline = time.Now().Add(-time.Second)
	if resp := svc.Dispatch(t.Context(), past); resp.Success || !strings.Contains(resp.Err.Error(), "deadline") {
		t.Errorf("past deadline: %+v", resp)
	}
	if resp := svc.Dispatch(t.Context(), &Request{}); resp.Success {
		t.Errorf("no event type: %+v", resp)
	}
}

func TestDispatchRecoversPanicsAndStartsTheService(t *testing.T) {
	svc, _, _ := newTestService(t)
	var starts atomic.Int32
	svc.OnStartup(func(context.Context) error {
		if starts.Add(1) == 1 {
			return errors.New("dependency down")
		}
		return nil
	})
	svc.OnDetection(func(context.Context, *Request) Response { panic("boom") })
	req := NewRequest(Detection, testOrg, json.RawMessage(`{}`), nil)
	if resp := svc.Dispatch(t.Context(), req); resp.Success || !resp.Retry || !strings.Contains(resp.Err.Error(), "dependency down") {
		t.Fatalf("failed start: %+v", resp)
	}
	if resp := svc.Dispatch(t.Context(), req); resp.Success || !resp.Retry || !strings.Contains(resp.Err.Error(), "panicked") {
		t.Fatalf("panic: %+v", resp)
	}
	if starts.Load() != 2 {
		t.Errorf("startup ran %d times, want 2", starts.Load())
	}
}

func TestDispatchCommandByName(t *testing.T) {
	svc, _, _ := newTestService(t)
	var got *Request
	svc.AddCommand(Command{Name: "scan", Args: Params{"depth": {Type: ParamInt}}, Handler: func(ctx context.Context, r *Request) Response {
		got = r
		return OK(nil)
	}})
	req := NewRequest(CommandEvent, testOrg, json.RawMessage(`{"depth":2}`), nil)
	req.CommandName, req.Action = "scan", "scan"
	if resp := svc.Dispatch(t.Context(), req); !resp.Success {
		t.Fatalf("%+v", resp)
	}
	if d, _ := got.Int("depth"); got.CommandName != "scan" || got.Action != "scan" || d != 2 {
		t.Errorf("command request %+v", got)
	}
	req = NewRequest(CommandEvent, testOrg, json.RawMessage(`{}`), nil)
	req.CommandName = "nope"
	if resp := svc.Dispatch(t.Context(), req); resp.Success || !strings.Contains(resp.Err.Error(), `unknown command "nope"`) {
		t.Errorf("%+v", resp)
	}
}

func TestMetadata(t *testing.T) {
	svc, _, _ := newTestService(t, WithVersion(3))
	h := func(context.Context, *Request) Response { return OK(nil) }
	svc.SetRequestParams(Params{"sid": {Type: ParamSID, Required: true}})
	svc.SubscribeDetections("a", "b")
	svc.OnTick(OrgPer24h, h)
	svc.AddCommand(Command{Name: "zeta", Description: "z", Handler: h})
	svc.AddCommand(Command{Name: "alpha", Args: Params{"x": {Type: ParamStr}}, Handler: h})
	svc.Use(func(next HandlerFunc) HandlerFunc { return next }, OrgInstall)
	m := svc.Metadata()
	if m.Name != "test-svc" || m.Version != 3 || strings.Join(m.Subscriptions, ",") != "a,b" {
		t.Errorf("%+v", m)
	}
	var ets []string
	for _, e := range m.EventTypes {
		ets = append(ets, string(e))
	}
	if got := strings.Join(ets, ","); got != "health,org_install,command,org_per_24h" {
		t.Errorf("event types %s", got)
	}
	if !m.Implements(OrgPer24h) || m.Implements(OrgPer1h) {
		t.Error("Implements")
	}
	if len(m.Commands) != 2 || m.Commands[0].Name != "alpha" || m.Commands[0].Handler != nil || m.Commands[1].Description != "z" {
		t.Errorf("commands %+v", m.Commands)
	}
	m.RequestParams["other"] = Param{Type: ParamStr}
	if _, ok := svc.Metadata().RequestParams["other"]; ok {
		t.Error("Metadata shares the params map")
	}
}

// echoTransport answers every webhook POST with its own body.
type echoTransport struct {
	bound *Service
	err   error
}

func (e *echoTransport) Bind(s *Service) (http.Handler, error) {
	if e.err != nil {
		return nil, e.err
	}
	e.bound = s
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "echo:"+s.Name())
	}), nil
}

func TestWithTransportServesWebhooks(t *testing.T) {
	tr := &echoTransport{}
	svc, _, _ := newTestService(t, WithTransport(tr))
	if tr.bound != svc || svc.Transport() != tr {
		t.Fatal("transport not bound to the service")
	}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/any/path", strings.NewReader("{}")))
	if rec.Body.String() != "echo:test-svc" {
		t.Errorf("POST answered %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` {
		t.Errorf("GET /healthz answered %d %q", rec.Code, rec.Body.String())
	}
	plain, _, _ := newTestService(t)
	if plain.Transport() != nil {
		t.Error("a plain service has a transport")
	}
	if _, err := New("x", "s", WithTransport(&echoTransport{err: errors.New("cannot bind")})); err == nil || err.Error() != "cannot bind" {
		t.Errorf("bind error: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	svc, _, _ := newTestService(t)
	body := []byte(`{"a":1}`)
	if err := svc.VerifySignature(body, Sign([]byte(testSecret), body)); err != nil {
		t.Errorf("good signature: %v", err)
	}
	if err := svc.VerifySignature(body, strings.ToUpper(Sign([]byte(testSecret), body))); err != nil {
		t.Errorf("uppercase signature: %v", err)
	}
	for _, sig := range []string{"", "zz", Sign([]byte("other"), body), Sign([]byte(testSecret), []byte("{}"))} {
		if err := svc.VerifySignature(body, sig); err == nil {
			t.Errorf("signature %q accepted", sig)
		}
	}
	open, err := New("open", "", WithInsecureNoSecret(), WithLogOutput(io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := open.VerifySignature(body, ""); err != nil {
		t.Errorf("insecure service refused: %v", err)
	}
}

func TestServiceNewRequestLogsThroughTheService(t *testing.T) {
	svc, out, _ := newTestService(t)
	r := svc.NewRequest(OrgInstall, testOrg, json.RawMessage(`{}`))
	r.Action = "x"
	r.Logger().Info("hello from a transport")
	if !strings.Contains(out.String(), "hello from a transport") || !strings.Contains(out.String(), `"action":"x"`) {
		t.Errorf("log: %s", out.String())
	}
}
