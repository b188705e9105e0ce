package tasking

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// seen is one request as the stub API received it.
type seen struct {
	Method  string
	Path    string // decoded
	RawPath string // as sent (escaped)
	Query   url.Values
	Header  http.Header
	Body    string
	Form    url.Values // parsed from Body, whatever the method
}

// stubAPI is an httptest server that records every request and answers
// with the next scripted handler (the last one repeats).
type stubAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []seen
	script []http.HandlerFunc
}

func newStubAPI(t *testing.T, script ...http.HandlerFunc) *stubAPI {
	t.Helper()
	s := &stubAPI{t: t, script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubAPI) serve(w http.ResponseWriter, r *http.Request) {
	// Read the body ourselves: ParseForm ignores DELETE bodies.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "body is not a form: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, seen{
		Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: string(body), Form: form,
	})
	s.mu.Unlock()
	if len(s.script) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	s.script[min(n, len(s.script)-1)](w, r)
}

func (s *stubAPI) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// client returns a Client for the stub whose retries do not really sleep:
// each wait is recorded instead.
func (s *stubAPI) client(opts ...Option) (*Client, *sleepLog) {
	c := NewClient(append([]Option{WithBaseURL(s.srv.URL)}, opts...)...)
	log := &sleepLog{}
	c.sleep = log.sleep
	return c, log
}

type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (l *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	l.waits = append(l.waits, d)
	l.mu.Unlock()
	return ctx.Err()
}

func (l *sleepLog) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.waits...)
}

// status answers code with body.
func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// jsonBody answers 200 with a JSON body.
func jsonBody(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

const testJWT = "eyJhbGciOiJIUzI1NiJ9.test-jwt-secret.sig"

const testOID = "8cbe27f4-bfa1-4afb-ba19-138cd51389cd"

func testOrg() Org { return Org{ID: testOID, JWT: testJWT} }
