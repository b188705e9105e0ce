package extension_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

const (
	testSecret = "extension-secret"
	testOID    = "11111111-2222-3333-4444-555555555555"
	testSID    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	testJWT    = "org-jwt"
)

// cloud delivers extension messages to a handler, signed as the platform
// signs them.
type cloud struct {
	t       *testing.T
	h       http.Handler
	secret  string
	counter atomic.Int64
}

func newCloud(t *testing.T, h http.Handler) *cloud { return &cloud{t: t, h: h, secret: testSecret} }

// answer is a decoded extension response.
type answer struct {
	Status        int
	Raw           string
	Version       uint64          `json:"version"`
	Error         string          `json:"error"`
	Retriable     *bool           `json:"retriable"`
	Data          json.RawMessage `json:"data"`
	Continuations []struct {
		InDelaySec uint64          `json:"in_delay_sec"`
		Action     string          `json:"action"`
		State      json.RawMessage `json:"state"`
	} `json:"continuations"`
}

type sendOpts struct {
	gzip   bool
	sig    *string
	header map[string]string
}

type sendOpt func(*sendOpts)

func gzipped() sendOpt { return func(o *sendOpts) { o.gzip = true } }
func signedAs(sig string) sendOpt {
	return func(o *sendOpts) { o.sig = &sig }
}

// post sends raw JSON, signed unless told otherwise.
func (c *cloud) post(raw []byte, opts ...sendOpt) answer {
	c.t.Helper()
	var o sendOpts
	for _, f := range opts {
		f(&o)
	}
	body := raw
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	if o.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		body = buf.Bytes()
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	sig := service.Sign([]byte(c.secret), raw)
	if o.sig != nil {
		sig = *o.sig
	}
	if sig != "" {
		req.Header.Set(extension.SignatureHeader, sig)
	}
	for k, v := range o.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	a := answer{Status: rec.Code, Raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			c.t.Fatalf("status %d: answer is not JSON: %q", rec.Code, rec.Body.String())
		}
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("Content-Type %q", ct)
	}
	return a
}

// send marshals msg, gives it an idempotency key unless it has one, and posts it.
func (c *cloud) send(msg map[string]any, opts ...sendOpt) answer {
	c.t.Helper()
	if _, ok := msg["version"]; !ok {
		msg["version"] = extension.ProtocolVersion
	}
	if _, ok := msg["idempotency_key"]; !ok {
		msg["idempotency_key"] = fmt.Sprintf("key-%d-%d", time.Now().UnixNano(), c.counter.Add(1))
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.post(raw, opts...)
}

func org() map[string]any {
	return map[string]any{"oid": testOID, "jwt": testJWT, "ident": "tester@example.com"}
}

func (c *cloud) request(action string, data any, opts ...sendOpt) answer {
	c.t.Helper()
	return c.send(map[string]any{"request": map[string]any{"org": org(), "action": action, "data": data, "config": map[string]any{}}}, opts...)
}

func (c *cloud) requestKeyed(key, action string, data any) answer {
	c.t.Helper()
	return c.send(map[string]any{"idempotency_key": key, "request": map[string]any{"org": org(), "action": action, "data": data}})
}

func (c *cloud) event(name string) answer {
	c.t.Helper()
	return c.send(map[string]any{"event": map[string]any{"org": org(), "event_name": name, "data": map[string]any{}, "config": map[string]any{}}})
}

func (a answer) retriable() bool { return a.Retriable == nil || *a.Retriable }

func (a answer) dataField(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("data %s: %v", a.Data, err)
	}
}

// newService builds a service served as an extension, its REST calls going
// to api, with logs discarded unless the test fails.
func newService(t *testing.T, api *stubapi.API, opts ...extension.Option) (*service.Service, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	if api != nil {
		opts = append([]extension.Option{extension.WithClient(fastClient(api))}, opts...)
	}
	svc, err := service.New("ext-test", testSecret, extension.Serve(opts...), service.WithLogOutput(logs, logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = svc.Shutdown(context0())
		if t.Failed() {
			t.Logf("service logs:\n%s", logs.String())
		}
	})
	return svc, logs
}

// fastClient calls api, retrying without the production back-off.
func fastClient(api *stubapi.API) *tasking.Client {
	return tasking.NewClient(tasking.WithBaseURL(api.URL), tasking.WithRetry(4, time.Millisecond, 5*time.Millisecond))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
