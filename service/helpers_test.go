package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "s3cret"

// newTestService returns a service whose logs go to the returned buffers.
func newTestService(t *testing.T, opts ...Option) (*Service, *syncBuffer, *syncBuffer) {
	t.Helper()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	svc, err := New("test-svc", testSecret, append([]Option{WithLogOutput(out, errOut)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Shutdown(t.Context()) })
	return svc, out, errOut
}

// mids numbers the messages envelopeFor builds: each has its own mid, as
// each message the cloud sends does.
var mids atomic.Int64

// envelopeFor builds a webhook body for etype, with a fresh mid.
func envelopeFor(etype EventType, data any) map[string]any {
	e := map[string]any{
		"version":  1,
		"oid":      "11111111-2222-3333-4444-555555555555",
		"mid":      fmt.Sprintf("mid-%d", mids.Add(1)),
		"deadline": float64(time.Now().Add(590*time.Second).UnixMilli()) / 1000,
		"jwt":      "header.payload.signature",
		"etype":    string(etype),
		"data":     data,
	}
	if data == nil {
		e["data"] = map[string]any{}
	}
	return e
}

// wireResult is a decoded webhook response.
type wireResult struct {
	Status  int
	Header  http.Header
	Success bool              `json:"success"`
	Retry   bool              `json:"retry"`
	Data    json.RawMessage   `json:"data"`
	Error   string            `json:"error"`
	Jobs    []json.RawMessage `json:"jobs"`
}

// postSigned signs body with testSecret and posts it to h.
func postSigned(t *testing.T, h http.Handler, body any) wireResult {
	t.Helper()
	raw := mustJSON(t, body)
	return postRaw(t, h, raw, Sign([]byte(testSecret), raw))
}

func postRaw(t *testing.T, h http.Handler, raw []byte, sig string) wireResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := wireResult{Status: rec.Code, Header: rec.Header()}
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, rec.Body.String())
		}
		if res.Data == nil {
			t.Fatalf("response without data: %s", rec.Body.String())
		}
	}
	return res
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (log handlers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// mustPanic fails the test unless fn panics with a message containing want.
func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Errorf("no panic; want one saying %q", want)
			return
		}
		if msg := fmt.Sprint(v); !strings.Contains(msg, want) {
			t.Errorf("panic %q; want one containing %q", msg, want)
		}
	}()
	fn()
}
