package tasking

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

func TestTaskWire(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"))
	c, _ := api.client()
	err := c.Task(context.Background(), testOrg(), TaskRequest{
		SID:             "6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f",
		Commands:        []string{"os_packages", `dir_list "C:\Program Files" *.exe`},
		InvestigationID: "svc-demo-ex/AQID",
		IdempotencyKey:  "key-1",
	})
	if err != nil {
		t.Fatalf("Task: %v", err)
	}
	reqs := api.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	checks := []struct{ what, got, want string }{
		{"method", r.Method, http.MethodPost},
		{"path", r.Path, "/v1/6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f"},
		{"Authorization", r.Header.Get("Authorization"), "bearer " + testJWT},
		{"x-idempotent-key", r.Header.Get("X-Idempotent-Key"), "key-1"},
		{"Content-Type", r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"},
		{"investigation_id", r.Form.Get("investigation_id"), "svc-demo-ex/AQID"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.what, ck.got, ck.want)
		}
	}
	if want := []string{"os_packages", `dir_list "C:\Program Files" *.exe`}; !reflect.DeepEqual(r.Form["tasks"], want) {
		t.Errorf("tasks = %q, want %q", r.Form["tasks"], want)
	}
}

func TestTaskWithoutOptionalFields(t *testing.T) {
	api := newStubAPI(t) // empty 200 body
	c, _ := api.client()
	if err := c.Task(context.Background(), testOrg(), TaskRequest{SID: "s1", Commands: []string{"os_version"}}); err != nil {
		t.Fatalf("Task: %v", err)
	}
	r := api.requests()[0]
	if _, ok := r.Form["investigation_id"]; ok {
		t.Errorf("investigation_id sent although empty: %q", r.Body)
	}
	if _, err := uuid.Parse(r.Header.Get("X-Idempotent-Key")); err != nil {
		t.Errorf("generated x-idempotent-key %q is not a UUID: %v", r.Header.Get("X-Idempotent-Key"), err)
	}
}

func TestTaskEscapesSID(t *testing.T) {
	api := newStubAPI(t)
	c, _ := api.client()
	if err := c.Task(context.Background(), testOrg(), TaskRequest{SID: "a/b c?d", Commands: []string{"x"}}); err != nil {
		t.Fatalf("Task: %v", err)
	}
	r := api.requests()[0]
	if r.Path != "/v1/a/b c?d" || r.RawPath != "/v1/a%2Fb%20c%3Fd" {
		t.Errorf("path %q (raw %q), want the SID as one escaped segment", r.Path, r.RawPath)
	}
}

func TestCallsRefuseBadInput(t *testing.T) {
	api := newStubAPI(t)
	c, _ := api.client()
	ctx := context.Background()
	rule := Rule{Name: "svc-demo-ex", Namespace: "managed", Detect: []byte(`{"op":"exists","path":"routing/sid"}`), Respond: []byte(`[{"action":"report","name":"x"}]`), Enabled: true}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"no SID", func() error { return c.Task(ctx, testOrg(), TaskRequest{Commands: []string{"x"}}) }, "SID is empty"},
		{"dot SID", func() error { return c.Task(ctx, testOrg(), TaskRequest{SID: "..", Commands: []string{"x"}}) }, "not a valid name"},
		{"no commands", func() error { return c.Task(ctx, testOrg(), TaskRequest{SID: "s"}) }, "Commands is empty"},
		{"empty command", func() error { return c.Task(ctx, testOrg(), TaskRequest{SID: "s", Commands: []string{""}}) }, "Commands[0] is empty"},
		{"no JWT", func() error { return c.Task(ctx, Org{ID: testOID}, TaskRequest{SID: "s", Commands: []string{"x"}}) }, "JWT is empty"},
		{"no OID", func() error { return c.PutRule(ctx, Org{JWT: testJWT}, rule) }, "Org.ID is empty"},
		{"no rule name", func() error { r := rule; r.Name = ""; return c.PutRule(ctx, testOrg(), r) }, "Name is empty"},
		{"no namespace", func() error { r := rule; r.Namespace = ""; return c.PutRule(ctx, testOrg(), r) }, "Namespace is empty"},
		{"bad detect", func() error { r := rule; r.Detect = []byte("{"); return c.PutRule(ctx, testOrg(), r) }, "Detect is not valid JSON"},
		{"no respond", func() error { r := rule; r.Respond = nil; return c.PutRule(ctx, testOrg(), r) }, "Respond is not valid JSON"},
		{"delete no name", func() error { return c.DeleteRule(ctx, testOrg(), "managed", "") }, "rule name is empty"},
		{"list no namespace", func() error { _, err := c.ListRules(ctx, testOrg(), ""); return err }, "namespace is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if n := len(api.requests()); n != 0 {
		t.Errorf("%d requests sent for refused calls", n)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name string
		env  string
		opts []Option
		want string
	}{
		{"default", "", nil, DefaultBaseURL},
		{"the environment is not read", "http://127.0.0.1:9999/", nil, DefaultBaseURL},
		{"option", "", []Option{WithBaseURL("http://127.0.0.1:8888/")}, "http://127.0.0.1:8888"},
		{"empty option keeps the default", "", []Option{WithBaseURL("")}, DefaultBaseURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LC_API_URL", tt.env)
			if got := NewClient(tt.opts...).BaseURL(); got != tt.want {
				t.Errorf("BaseURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "ftp://example.com", "http://", "http://h/?q=1", "http://[::1"} {
		t.Run(u, func(t *testing.T) {
			c := NewClient(WithBaseURL(u))
			err := c.Task(context.Background(), testOrg(), TaskRequest{SID: "s", Commands: []string{"x"}})
			if err == nil || !strings.Contains(err.Error(), "base URL") {
				t.Fatalf("Task with base URL %q: error = %v, want a base URL error", u, err)
			}
		})
	}
}

func TestWithHTTPClient(t *testing.T) {
	api := newStubAPI(t)
	var rt countingTransport
	c, _ := api.client(WithHTTPClient(&http.Client{Transport: &rt}))
	if err := c.Task(context.Background(), testOrg(), TaskRequest{SID: "s", Commands: []string{"x"}}); err != nil {
		t.Fatalf("Task: %v", err)
	}
	if rt.n != 1 {
		t.Errorf("custom client carried %d requests, want 1", rt.n)
	}
}

type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// The Client is shared by every handler of a service: hammer it from many
// goroutines (meaningful under -race).
func TestClientConcurrentUse(t *testing.T) {
	api := newStubAPI(t, status(http.StatusServiceUnavailable, ""), jsonBody("{}"))
	c, _ := api.client()
	var wg sync.WaitGroup
	errs := make(chan error, 64) // room for every send: drained after Wait
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Task(context.Background(), testOrg(), TaskRequest{SID: "s", Commands: []string{"os_version"}, IdempotencyKey: uuid.NewString()})
			if i%2 == 0 {
				_, err := c.ListRules(context.Background(), testOrg(), "managed")
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrServer) {
			t.Errorf("concurrent call: %v", err)
		}
	}
}
