package tasking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func taskReq() TaskRequest {
	return TaskRequest{SID: "s1", Commands: []string{"os_packages", "os_version"}, InvestigationID: "svc-x-ex/tok"}
}

func TestRetryAfter429ThenSuccess(t *testing.T) {
	api := newStubAPI(t, status(http.StatusTooManyRequests, `{"error":"slow down"}`), jsonBody("{}"))
	c, sleeps := api.client()
	if err := c.Task(context.Background(), testOrg(), taskReq()); err != nil {
		t.Fatalf("Task: %v", err)
	}
	reqs := api.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d attempts, want 2", len(reqs))
	}
	if len(sleeps.all()) != 1 {
		t.Errorf("%d waits between attempts, want 1", len(sleeps.all()))
	}
	first, second := reqs[0], reqs[1]
	if k := first.Header.Get("X-Idempotent-Key"); k == "" || k != second.Header.Get("X-Idempotent-Key") {
		t.Errorf("idempotency keys %q then %q, want one key on every attempt", k, second.Header.Get("X-Idempotent-Key"))
	}
	if first.Body == "" || first.Body != second.Body {
		t.Errorf("bodies differ between attempts:\n%q\n%q", first.Body, second.Body)
	}
}

func TestRateLimitWaitHonoured(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		max    time.Duration
		want   time.Duration
	}{
		{"X-RateLimit-Period", map[string]string{"X-RateLimit-Period": "2"}, 10 * time.Second, 2 * time.Second},
		{"Retry-After seconds", map[string]string{"Retry-After": "3"}, 10 * time.Second, 3 * time.Second},
		{"Retry-After wins", map[string]string{"Retry-After": "1", "X-RateLimit-Period": "60"}, 10 * time.Second, time.Second},
		{"capped by maxDelay", map[string]string{"X-RateLimit-Period": "60"}, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limited := func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			}
			api := newStubAPI(t, limited, jsonBody("{}"))
			c, sleeps := api.client(WithRetry(3, time.Millisecond, tt.max))
			if err := c.Task(context.Background(), testOrg(), taskReq()); err != nil {
				t.Fatalf("Task: %v", err)
			}
			if got := sleeps.all(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("waits %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestRateLimitWaitParsing(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, retryAfter, period string
		want                     time.Duration
	}{
		{"none", "", "", 0},
		{"http date", now.Add(4 * time.Second).Format(http.TimeFormat), "", 4 * time.Second},
		{"fractional period", "", "0.5", 500 * time.Millisecond},
		{"garbage falls back", "soon", "2", 2 * time.Second},
		{"NaN ignored", "NaN", "Inf", 0},
		{"negative ignored", "-5", "", 0},
		{"past date ignored", now.Add(-time.Minute).Format(http.TimeFormat), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			if tt.period != "" {
				h.Set("X-RateLimit-Period", tt.period)
			}
			if got := rateLimitWait(h, now, time.Minute); got != tt.want {
				t.Errorf("rateLimitWait = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	base, maxDelay := 100*time.Millisecond, time.Second
	ceilings := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, ceiling := range ceilings {
		attempt := i + 1
		var sawUpperHalf bool
		for range 200 {
			d := backoff(attempt, base, maxDelay)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", attempt, d, ceiling)
			}
			sawUpperHalf = sawUpperHalf || d > ceiling/2
		}
		if !sawUpperHalf {
			t.Errorf("backoff(%d) never above %v in 200 draws: ceiling not growing?", attempt, ceiling/2)
		}
	}
	if d := backoff(1000, time.Hour, 1<<62); d < 0 {
		t.Errorf("backoff overflowed: %v", d)
	}
	if d := backoff(3, 0, 0); d != 0 {
		t.Errorf("backoff with zero delays = %v, want 0", d)
	}
}

func TestServerErrorsUntilDeadline(t *testing.T) {
	api := newStubAPI(t, status(http.StatusInternalServerError, "boom"))
	c := NewClient(WithBaseURL(api.srv.URL), WithRetry(1000, 20*time.Millisecond, 300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var pastDeadline atomic.Int32
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if time.Now().Add(d).After(deadline) {
			pastDeadline.Add(1)
		}
		return sleepContext(ctx, d)
	}
	err := c.Task(ctx, testOrg(), taskReq())
	returned := time.Now()
	if !errors.Is(err, ErrServer) {
		t.Fatalf("error = %v, want one matching ErrServer", err)
	}
	if n := pastDeadline.Load(); n != 0 {
		t.Errorf("%d waits were to end after the context deadline", n)
	}
	// An attempt in flight at the deadline is cut by the context, so the
	// call may end at the deadline, but not a wait's length after it.
	if late := returned.Sub(deadline); late > 250*time.Millisecond {
		t.Errorf("returned %v after the context deadline", late)
	}
	if n := len(api.requests()); n < 2 {
		t.Errorf("%d attempts before the deadline, want several", n)
	}
}

func TestNoSleepPastDeadline(t *testing.T) {
	limited := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
	}
	api := newStubAPI(t, limited)
	c := NewClient(WithBaseURL(api.srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := c.Task(ctx, testOrg(), taskReq())
	if !time.Now().Before(deadline) {
		t.Errorf("returned at or after the deadline; want at once, the 5 s wait cannot fit")
	}
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v, want ErrRateLimited saying the deadline stopped retries", err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestCancelDuringWait(t *testing.T) {
	api := newStubAPI(t, status(http.StatusBadGateway, ""))
	c, _ := api.client()
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	err := c.Task(ctx, testOrg(), taskReq())
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrServer) {
		t.Errorf("error = %v, want one matching both context.Canceled and the last ErrServer", err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestAttemptsExhausted(t *testing.T) {
	api := newStubAPI(t, status(http.StatusServiceUnavailable, "maintenance"))
	c, sleeps := api.client(WithRetry(3, time.Millisecond, time.Millisecond))
	err := c.Task(context.Background(), testOrg(), taskReq())
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error = %v, want ErrServer after 3 attempts", err)
	}
	if n := len(api.requests()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if n := len(sleeps.all()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	tests := []struct {
		status   int
		sentinel error
		says     string
	}{
		{http.StatusBadRequest, nil, "Bad Request"},
		{http.StatusUnauthorized, ErrUnauthorized, "JWT has probably expired"},
		{http.StatusForbidden, ErrForbidden, "sensor.task"},
		{http.StatusNotFound, ErrNotFound, "no such sensor"},
	}
	all := []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrServer}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			// The body echoes the JWT: it must not reach the error.
			api := newStubAPI(t, status(tt.status, `{"error":"bad token `+testJWT+`"}`))
			c, _ := api.client()
			err := c.Task(context.Background(), testOrg(), taskReq())
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status {
				t.Fatalf("error = %v, want *APIError with status %d", err, tt.status)
			}
			for _, s := range all {
				if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), `task sensor "s1"`) {
				t.Errorf("error %q should name the call and say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), testJWT) || strings.Contains(apiErr.Body, testJWT) {
				t.Errorf("error leaks the JWT: %q", err)
			}
			if n := len(api.requests()); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
}

func TestErrorBodyTruncated(t *testing.T) {
	long := strings.Repeat("é", 2000) // 4000 bytes of two-byte runes
	api := newStubAPI(t, status(http.StatusBadRequest, long))
	c, _ := api.client()
	err := c.Task(context.Background(), testOrg(), taskReq())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *APIError", err)
	}
	if len(apiErr.Body) > maxErrorBody || len(apiErr.Body) < maxErrorBody-1 || !strings.HasPrefix(long, apiErr.Body) {
		t.Errorf("body kept %d bytes, want the first ~%d on a rune boundary", len(apiErr.Body), maxErrorBody)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	// The first connection is dropped without an answer, the second served.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c := NewClient(WithBaseURL(srv.URL))
	c.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	if err := c.Task(context.Background(), testOrg(), taskReq()); err != nil {
		t.Fatalf("Task: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

func TestClosedServerRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := NewClient(WithBaseURL(url), WithRetry(4, time.Millisecond, time.Millisecond))
	var waits atomic.Int32
	c.sleep = func(ctx context.Context, d time.Duration) error { waits.Add(1); return nil }
	err := c.Task(context.Background(), testOrg(), taskReq())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("error = %v, want a network error", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("network failure reported as an API error: %v", err)
	}
	if n := waits.Load(); n != 3 {
		t.Errorf("%d waits, want 3 (4 attempts)", n)
	}
}

func TestIsTransient(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"429", &APIError{Status: 429}, true},
		{"503 wrapped", fmt.Errorf("x: %w", &APIError{Status: 503}), true},
		{"401", &APIError{Status: 401}, false},
		{"404", &APIError{Status: 404}, false},
		{"timeout", fmt.Errorf("x: %w", ErrTimeout), true},
		{"deadline", context.DeadlineExceeded, true},
		{"cancelled", context.Canceled, false},
		{"reset", &url.Error{Op: "Post", URL: "u", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{"refused", &url.Error{Op: "Post", URL: "u", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"eof", &url.Error{Op: "Post", URL: "u", Err: io.EOF}, true},
		{"certificate", &url.Error{Op: "Post", URL: "u", Err: errors.New("x509: certificate signed by unknown authority")}, false},
		{"bad input", errors.New("tasking: TaskRequest.Commands is empty"), false},
		{"says transient", fmt.Errorf("x: %w", transientErr(true)), true},
		{"says not transient", transientErr(false), false},
	} {
		if got := IsTransient(c.err); got != c.want {
			t.Errorf("%s: IsTransient = %v, want %v", c.name, got, c.want)
		}
	}
}

// A hung API: each attempt is cut at the attempt timeout, and the call
// gives up early enough to leave its caller the reserve.
func TestHungAPILeavesTimeToAnswer(t *testing.T) {
	release := make(chan struct{})
	api := newStubAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := NewClient(WithBaseURL(api.srv.URL), WithRetry(5, time.Millisecond, 5*time.Millisecond),
		WithAttemptTimeout(300*time.Millisecond), WithDeadlineReserve(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := c.Task(ctx, testOrg(), taskReq())
	left := time.Until(deadline)
	if !errors.Is(err, ErrTimeout) || !IsTransient(err) {
		t.Errorf("error = %v, want a transient ErrTimeout", err)
	}
	if left < 800*time.Millisecond {
		t.Errorf("returned with %v of the deadline left, want about the 1 s reserve", left)
	}
	if n := len(api.requests()); n < 2 {
		t.Errorf("%d attempts; hung attempts should have been cut and retried", n)
	}
	// A short deadline keeps half of what is left.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel2()
	deadline2, _ := ctx2.Deadline()
	err = c.Task(ctx2, testOrg(), taskReq())
	if left := time.Until(deadline2); !errors.Is(err, ErrTimeout) || left < 100*time.Millisecond {
		t.Errorf("short deadline: %v with %v left", err, left)
	}
}

// An attempt cut short by the call's deadline, after earlier attempts got a
// 5xx, reports both: the timeout, and what the API last said.
func TestAttemptCutByTheDeadlineKeepsTheLastError(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	api := newStubAPI(t, status(http.StatusServiceUnavailable, "busy"), hang)
	c := NewClient(WithBaseURL(api.srv.URL), WithRetry(5, time.Millisecond, time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	err := c.Task(ctx, testOrg(), taskReq())
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrServer) || !IsTransient(err) {
		t.Fatalf("error = %v; want one matching ErrTimeout and ErrServer, transient", err)
	}
}

// transientErr is an error that says whether it is transient, as a shared
// store's errors do.
type transientErr bool

func (transientErr) Error() string     { return "store unavailable" }
func (e transientErr) Transient() bool { return bool(e) }
