package lctest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lcsvc/lcservice/internal/bubble"
)

// testContext bounds a wait in the tests: see bubble.WaitLimit.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bubble.WaitLimit(t))
	t.Cleanup(cancel)
	return ctx
}

// newTestCloud starts a cloud closed at the end of the test.
func newTestCloud(t *testing.T, opts ...Option) *Cloud {
	t.Helper()
	c := NewCloud(opts...)
	t.Cleanup(c.Close)
	return c
}

// recorder collects the observer's activities.
type recorder struct {
	mu  sync.Mutex
	all []Activity
}

func (r *recorder) observe(a Activity) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, a)
}

// reset forgets what was recorded so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = nil
}

// snapshot returns everything recorded so far.
func (r *recorder) snapshot() []Activity {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Activity(nil), r.all...)
}

func (r *recorder) kind(k ActivityKind) []Activity {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Activity
	for _, a := range r.all {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

// events decodes the sensor events observed, in order.
func (r *recorder) events(t *testing.T) []SensorEvent {
	t.Helper()
	var out []SensorEvent
	for _, a := range r.kind(ActivityEvent) {
		var ev SensorEvent
		if err := json.Unmarshal(a.Body, &ev); err != nil {
			t.Fatalf("event body is not JSON: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

// restClient calls the cloud's REST API as a client would.
type restClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newAPI(t *testing.T, c *Cloud) *restClient {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &restClient{t: t, base: c.URL(), client: &http.Client{Transport: tr}}
}

// do sends method path with form (as a form-encoded body when not nil)
// and returns the status, the headers and the body.
func (a *restClient) do(jwt, method, path string, form url.Values, header http.Header) (int, http.Header, []byte) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(testContext(a.t), method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if jwt != "" {
		req.Header.Set("Authorization", "bearer "+jwt)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// task tasks sid and fails the test unless the API answers 200.
func (a *restClient) task(org *Org, sid, investigationID string, lines ...string) {
	a.t.Helper()
	form := url.Values{"tasks": lines}
	if investigationID != "" {
		form.Set("investigation_id", investigationID)
	}
	if status, _, body := a.do(org.JWT, http.MethodPost, "/v1/"+sid, form, nil); status != http.StatusOK {
		a.t.Fatalf("task %v: HTTP %d %s", lines, status, body)
	}
}

// putHiveRule stores a rule through the Hive API.
func (a *restClient) putHiveRule(org *Org, ns, name, detect, respond string, enabled bool) {
	a.t.Helper()
	form := url.Values{
		"data":    {`{"detect":` + detect + `,"respond":` + respond + `}`},
		"usr_mtd": {`{"enabled":` + boolText(enabled) + `,"expiry":0,"tags":[],"comment":""}`},
	}
	if status, _, body := a.do(org.JWT, http.MethodPost, "/v1/hive/dr-"+ns+"/"+org.OID+"/"+name+"/data", form, nil); status != http.StatusOK {
		a.t.Fatalf("put hive rule: HTTP %d %s", status, body)
	}
}

// installWithRule installs svc in org and stores its replicant rule through
// the Hive API, as the service itself would on org_install.
func installWithRule(t *testing.T, a *restClient, svc *Service, org *Org) {
	t.Helper()
	if _, err := svc.Install(testContext(t), org); err != nil {
		t.Fatal(err)
	}
	a.putHiveRule(org, "managed", "svc-svc-ex", replicantDetect, replicantRespond, true)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// replicantDetect and replicantRespond are the replicant rule for service
// "svc": report every event whose investigation_id starts with svc-svc-ex/,
// but the CLOUD_NOTIFICATION receipts.
const (
	replicantDetect = `{"op":"and","rules":[
		{"op":"starts with","path":"routing/investigation_id","value":"svc-svc-ex/"},
		{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`
	replicantRespond = `[{"action":"report","name":"__svc-svc-ex"}]`
)

// fakeService stands in for a service: it verifies the signature,
// records the envelopes and answers health with its subscriptions;
// answer, when set, answers everything else.
type fakeService struct {
	secret []byte
	subs   []string
	answer func(env map[string]any) any

	mu   sync.Mutex
	got  []map[string]any
	bads int // requests refused for their signature
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !VerifySignature(f.secret, body, r.Header.Get(SignatureHeader)) {
		f.mu.Lock()
		f.bads++
		f.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, env)
	f.mu.Unlock()
	var resp any = map[string]any{"success": true, "data": map[string]any{}}
	switch {
	case env["etype"] == "health":
		subs := f.subs
		if subs == nil {
			subs = []string{}
		}
		resp = map[string]any{"success": true, "data": map[string]any{
			"version": 1, "start_time": 1, "calls_in_progress": 0,
			"mtd": map[string]any{"detect_subscriptions": subs, "callbacks": []string{"health", "detection", "request"}},
		}}
	case f.answer != nil:
		resp = f.answer(env)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// badSignatures counts the requests refused for their signature.
func (f *fakeService) badSignatures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bads
}

func (f *fakeService) envelopes(etype string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, e := range f.got {
		if e["etype"] == etype {
			out = append(out, e)
		}
	}
	return out
}

// register registers f as service "svc".
func register(t *testing.T, c *Cloud, f *fakeService) *Service {
	t.Helper()
	if f.secret == nil {
		f.secret = []byte("s3cret")
	}
	svc, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: string(f.secret), Handler: f})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return svc
}

func waitIdle(t *testing.T, c *Cloud) {
	t.Helper()
	if err := c.WaitIdle(testContext(t)); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

// typesOf lists the event types of events.
func typesOf(events []SensorEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Routing.EventType)
	}
	return out
}
