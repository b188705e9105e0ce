package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/wire"
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
	resp := svc.dispatchRequest(t.Context(), req)
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
	if resp := svc.dispatchRequest(t.Context(), bad); resp.Success || resp.Retry || !strings.Contains(resp.Err.Error(), "missing parameter n") {
		t.Errorf("invalid params: %+v", resp)
	}
	if resp := svc.dispatchRequest(t.Context(), NewRequest(NewSensor, testOrg, nil, nil)); resp.Success || resp.Err.Error() != "not implemented" {
		t.Errorf("unregistered: %+v", resp)
	}
	past := NewRequest(RequestEvent, testOrg, json.RawMessage(`{"n":1}`), nil)
	past.Deadline = time.Now().Add(-time.Second)
	if resp := svc.dispatchRequest(t.Context(), past); resp.Success || !strings.Contains(resp.Err.Error(), "deadline") {
		t.Errorf("past deadline: %+v", resp)
	}
	if resp := svc.dispatchRequest(t.Context(), &Request{}); resp.Success {
		t.Errorf("no event type: %+v", resp)
	}
}

func TestDispatchRecoversPanics(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.OnDetection(func(context.Context, *Request) Response { panic("boom") })
	req := NewRequest(Detection, testOrg, json.RawMessage(`{}`), nil)
	if resp := svc.dispatchRequest(t.Context(), req); resp.Success || !resp.Retry || !strings.Contains(resp.Err.Error(), "panicked") {
		t.Fatalf("panic: %+v", resp)
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
	if resp := svc.dispatchRequest(t.Context(), req); !resp.Success {
		t.Fatalf("%+v", resp)
	}
	if d, _ := got.Int("depth"); got.CommandName != "scan" || got.Action != "scan" || d != 2 {
		t.Errorf("command request %+v", got)
	}
	req = NewRequest(CommandEvent, testOrg, json.RawMessage(`{}`), nil)
	req.CommandName = "nope"
	if resp := svc.dispatchRequest(t.Context(), req); resp.Success || !strings.Contains(resp.Err.Error(), `unknown command "nope"`) {
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

// echoProtocol is a protocol whose messages are their own answer: it
// shows what the front door does for any protocol.
type echoProtocol struct{ panics bool }

func (echoProtocol) Kind() string            { return "echo" }
func (echoProtocol) SignatureHeader() string { return "X-Echo-Sig" }
func (echoProtocol) Inflates() bool          { return true }
func (echoProtocol) Check() error            { return nil }
func (echoProtocol) Unsigned() (int, []byte, bool) {
	return http.StatusAccepted, []byte("probe"), true
}
func (echoProtocol) Decode(body []byte) (wire.Message, error) {
	if string(body) == "bad" {
		return wire.Message{}, errors.New("bad message")
	}
	return wire.Message{Value: string(body), Deadline: time.Now().Add(time.Minute)}, nil
}
func (e echoProtocol) Answer(_ context.Context, m wire.Message) wire.Answer {
	if e.panics {
		panic("protocol bug")
	}
	return wire.Answer{Status: http.StatusCreated, Body: []byte("echo:" + m.Value.(string))}
}
func (echoProtocol) Fail(err error, retriable bool) wire.Answer {
	return wire.Answer{Status: http.StatusInternalServerError, Body: []byte("fail:" + err.Error())}
}
func (echoProtocol) Refusal(msg string) []byte { return []byte("refused:" + msg) }

func withProtocol(p wire.Protocol) Option {
	return func(s *Service) { wire.Serve.(func(*Service, wire.Protocol))(s, p) }
}

func TestFrontDoorServesAnyProtocol(t *testing.T) {
	svc, _, _ := newTestService(t, withProtocol(echoProtocol{}))
	if wire.ProtocolOf.(func(*Service) wire.Protocol)(svc).Kind() != "echo" {
		t.Fatal("protocol not installed")
	}
	post := func(body []byte, sig string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/any/path", bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Echo-Sig", sig)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		return rec
	}
	sign := func(b []byte) string { return Sign([]byte(testSecret), b) }
	if rec := post([]byte("hi"), sign([]byte("hi")), nil); rec.Code != http.StatusCreated || rec.Body.String() != "echo:hi" {
		t.Errorf("signed: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post([]byte("hi"), "", nil); rec.Code != http.StatusAccepted || rec.Body.String() != "probe" {
		t.Errorf("unsigned: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post([]byte("hi"), sign([]byte("ho")), nil); rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Body.String(), "refused:signature does not match") {
		t.Errorf("bad signature: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post([]byte("bad"), sign([]byte("bad")), nil); rec.Code != http.StatusBadRequest || rec.Body.String() != "refused:bad message" {
		t.Errorf("undecodable: %d %q", rec.Code, rec.Body.String())
	}
	// gzip: the signature is over the inflated bytes.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write([]byte("zipped"))
	_ = zw.Close()
	if rec := post(zb.Bytes(), sign([]byte("zipped")), map[string]string{"Content-Encoding": "gzip"}); rec.Code != http.StatusCreated || rec.Body.String() != "echo:zipped" {
		t.Errorf("gzip: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post([]byte("hi"), sign([]byte("hi")), map[string]string{"Content-Encoding": "br"}); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("brotli: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post(zb.Bytes()[:10], sign([]byte("zipped")), nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "gzip") {
		t.Errorf("truncated gzip: %d %q", rec.Code, rec.Body.String())
	}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` {
		t.Errorf("GET /healthz answered %d %q", rec.Code, rec.Body.String())
	}
	panicky, _, _ := newTestService(t, withProtocol(echoProtocol{panics: true}))
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
	req.Header.Set("X-Echo-Sig", sign([]byte("x")))
	rec = httptest.NewRecorder()
	panicky.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "panicked: protocol bug") {
		t.Errorf("panic: %d %q", rec.Code, rec.Body.String())
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"a":1}`)
	good := Sign([]byte(testSecret), body)
	for _, sigs := range [][]string{{good}, {strings.ToUpper(good)}, {good, strings.ToUpper(good)}} {
		if err := verify([]byte(testSecret), body, sigs, sigHeaderKey); err != nil {
			t.Errorf("signatures %q: %v", sigs, err)
		}
	}
	for _, sigs := range [][]string{nil, {""}, {"zz"}, {Sign([]byte("other"), body)}, {Sign([]byte(testSecret), []byte("{}"))}, {good, Sign([]byte("other"), body)}} {
		if err := verify([]byte(testSecret), body, sigs, sigHeaderKey); err == nil {
			t.Errorf("signatures %q accepted", sigs)
		}
	}
}

func TestNewRequestHookLogsThroughTheService(t *testing.T) {
	svc, out, _ := newTestService(t)
	r := wire.NewRequest.(func(*Service, EventType, tasking.Org, json.RawMessage) *Request)(svc, OrgInstall, testOrg, json.RawMessage(`{}`))
	r.Action = "x"
	r.Logger().Info("hello from a protocol")
	if !strings.Contains(out.String(), "hello from a protocol") || !strings.Contains(out.String(), `"action":"x"`) {
		t.Errorf("log: %s", out.String())
	}
}

// A body that inflates past the limit is refused 413 with the default
// limits, the budget left as it was; so is one just past the limit sent
// chunked, while one of exactly the limit is taken. Growing a buffer to
// exactly the limit and then one past it held both at once, more than the
// budget allows large bodies: those were answered 503 instead.
func TestBodiesGrowingToTheLimit(t *testing.T) {
	svc, _, _ := newTestService(t, withProtocol(echoProtocol{}))
	post := func(body io.Reader, n int64, enc string) int {
		req := httptest.NewRequest(http.MethodPost, "/", body)
		req.ContentLength = n
		req.Header.Set("X-Echo-Sig", "00")
		req.Header.Set("Content-Encoding", enc)
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		return rec.Code
	}
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	bomb := bytes.Repeat(one.Bytes(), 64) // 64 MiB inflated
	if code := post(bytes.NewReader(bomb), int64(len(bomb)), "gzip"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d, want 413", code)
	}
	if code := post(chunked{bytes.NewReader(make([]byte, DefaultMaxBodyBytes+1))}, -1, ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked, one byte past the limit: %d, want 413", code)
	}
	if code := post(chunked{bytes.NewReader(make([]byte, DefaultMaxBodyBytes))}, -1, ""); code != http.StatusUnauthorized {
		t.Errorf("chunked, the limit: %d, want 401 (read, then refused for its signature)", code)
	}
	if st := svc.Stats(); st.BodyBytes != 0 || st.Busy != 0 || st.TooLarge != 2 {
		t.Errorf("stats %+v", st)
	}
}
