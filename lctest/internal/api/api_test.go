package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// fakeBackend serves one organization, "o1" with JWT "jwt1", whose
// sensor "s1" accepts every task.
type fakeBackend struct {
	mu      sync.Mutex
	rules   *dr.Store
	tasks   []TaskCall
	faulted []Faulted
}

func newFakeBackend() *fakeBackend { return &fakeBackend{rules: dr.NewStore()} }

func (b *fakeBackend) OrgByJWT(jwt string) (string, bool) { return "o1", jwt == "jwt1" }

func (b *fakeBackend) Rules(string) RuleStore { return b.rules }

func (b *fakeBackend) Task(c TaskCall) error {
	if c.SID != "s1" {
		return &Error{Status: http.StatusNotFound, Message: "no sensor " + c.SID}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tasks = append(b.tasks, c)
	return nil
}

func (b *fakeBackend) Faulted(f Faulted) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faulted = append(b.faulted, f)
}

func (b *fakeBackend) counts() (tasks, faulted int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tasks), len(b.faulted)
}

// call sends method path with form to srv, authenticated with jwt.
func call(t *testing.T, srv *httptest.Server, jwt, method, path string, form url.Values) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+jwt)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.Client().Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestFaults(t *testing.T) {
	b := newFakeBackend()
	faults := NewFaults()
	srv := httptest.NewServer(New(b, faults))
	defer srv.Close()
	task := url.Values{"tasks": {"os_version"}}

	faults.Add(CallTask, 2, Fault{Status: 429, Header: http.Header{"X-Ratelimit-Period": {"60"}}})
	faults.Add(CallTask, 1, Fault{Status: 503})
	for i, want := range []int{429, 429, 503, 200} {
		resp, err := call(t, srv, "jwt1", http.MethodPost, "/v1/s1", task)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("call %d: %v %v, want HTTP %d", i, resp.StatusCode, err, want)
		}
		if want == 429 && resp.Header.Get("X-RateLimit-Period") != "60" {
			t.Errorf("call %d: the fault's header is missing: %v", i, resp.Header)
		}
	}
	if tasks, faulted := b.counts(); tasks != 1 || faulted != 3 {
		t.Fatalf("%d tasks, %d faults; want the one call that went through and three faults", tasks, faulted)
	}

	// Faults are per kind, apply after authentication, and n <= 0 forgets them.
	faults.Add(CallRulePut, 1, Fault{Status: 500})
	if resp, _ := call(t, srv, "jwt1", http.MethodPost, "/v1/s1", task); resp.StatusCode != 200 {
		t.Errorf("a rule fault failed a task: HTTP %d", resp.StatusCode)
	}
	if resp, _ := call(t, srv, "bad", http.MethodPost, "/v1/hive/dr-managed/o1/r/data", url.Values{}); resp.StatusCode != 401 {
		t.Errorf("bad JWT: HTTP %d, want 401", resp.StatusCode)
	}
	put := url.Values{"data": {`{"detect":{"op":"exists","path":"event"},"respond":[]}`}}
	if resp, _ := call(t, srv, "jwt1", http.MethodPost, "/v1/hive/dr-managed/o1/r/data", put); resp.StatusCode != 500 {
		t.Errorf("rule put: HTTP %d, want the injected 500", resp.StatusCode)
	}
	if _, ok := b.rules.Get("managed", "r"); ok {
		t.Error("a faulted rule put stored the rule")
	}
	faults.Add(CallTask, 5, Fault{Status: 500})
	faults.Add(CallTask, 0, Fault{})
	if resp, _ := call(t, srv, "jwt1", http.MethodPost, "/v1/s1", task); resp.StatusCode != 200 {
		t.Errorf("after forgetting the faults: HTTP %d", resp.StatusCode)
	}
}

func TestFaultDropAndDelay(t *testing.T) {
	b := newFakeBackend()
	faults := NewFaults()
	srv := httptest.NewServer(New(b, faults))
	defer srv.Close()
	task := url.Values{"tasks": {"os_version"}}

	faults.Add(CallTask, 1, Fault{Drop: true})
	if resp, err := call(t, srv, "jwt1", http.MethodPost, "/v1/s1", task); err == nil {
		t.Fatalf("a dropped call was answered HTTP %d", resp.StatusCode)
	}
	if tasks, _ := b.counts(); tasks != 0 {
		t.Fatal("a dropped call was served")
	}

	faults.Add(CallTask, 1, Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	if resp, err := call(t, srv, "jwt1", http.MethodPost, "/v1/s1", task); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delayed call: %v %v", resp, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("the call took %v, want at least the delay", d)
	}
	if tasks, faulted := b.counts(); tasks != 1 || faulted != 2 {
		t.Errorf("%d tasks, %d faults; a delay alone serves the call", tasks, faulted)
	}
}

func TestTaskErrors(t *testing.T) {
	b := newFakeBackend()
	srv := httptest.NewServer(New(b, NewFaults()))
	defer srv.Close()
	for _, tt := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/v1/s2", url.Values{"tasks": {"os_version"}}, 404},
		{"/v1/s1", url.Values{}, 400},
		{"/v1/s1", url.Values{"tasks": {""}}, 400},
	} {
		if resp, _ := call(t, srv, "jwt1", http.MethodPost, tt.path, tt.form); resp.StatusCode != tt.want {
			t.Errorf("%s %v: HTTP %d, want %d", tt.path, tt.form, resp.StatusCode, tt.want)
		}
	}
	if err := (&Error{Status: 404, Message: "x"}); !errors.As(error(err), new(*Error)) || err.Error() != "HTTP 404: x" {
		t.Errorf("Error = %v", err)
	}
}
