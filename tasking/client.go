package tasking

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the LimaCharlie REST API a Client calls unless told
// otherwise.
const DefaultBaseURL = "https://api.limacharlie.io"

// Retry defaults: enough to ride out a short 429 window or a brief outage
// well within the 590 s a webhook handler has (at most five attempts of
// DefaultAttemptTimeout and the waits between them: under three minutes).
const (
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 10 * time.Second
)

// DefaultAttemptTimeout bounds one HTTP attempt (WithAttemptTimeout), so a
// hung connection is retried instead of holding the call until its context
// ends (or forever, without a deadline).
const DefaultAttemptTimeout = 30 * time.Second

// DefaultDeadlineReserve is how much of a context's deadline a call leaves
// unused (WithDeadlineReserve), so the handler that made it still has time
// to answer its webhook: the call ends by the deadline less this, or less
// half the time left when that is shorter.
const DefaultDeadlineReserve = 15 * time.Second

// Client calls the LimaCharlie REST API on behalf of a service. Create one
// per process with NewClient; it is safe for concurrent use.
type Client struct {
	baseURL     string
	baseErr     error // why baseURL is unusable; returned by every call
	http        *http.Client
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	legacyRules bool
	observer    Observer

	attemptTimeout time.Duration
	reserve        time.Duration

	// sleep waits d or until ctx is done; tests replace it to run fast.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the API base URL, without the /v1 suffix, e.g.
// "http://127.0.0.1:8080" for an emulated cloud. An empty u keeps
// DefaultBaseURL, so WithBaseURL(os.Getenv("LC_API_URL")) reads well.
func WithBaseURL(u string) Option {
	return func(c *Client) {
		if u != "" {
			c.baseURL = u
		}
	}
}

// WithHTTPClient makes the Client send its requests through hc instead of
// its own pooled client. A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithRetry sets how often and how patiently a call is retried: at most
// maxAttempts attempts (at least 1), waiting a random time up to
// baseDelay·2ⁿ, never more than maxDelay, between them.
func WithRetry(maxAttempts int, baseDelay, maxDelay time.Duration) Option {
	return func(c *Client) {
		c.maxAttempts = max(maxAttempts, 1)
		c.baseDelay = max(baseDelay, 0)
		c.maxDelay = max(maxDelay, c.baseDelay)
	}
}

// WithAttemptTimeout bounds each HTTP attempt of a call (default
// DefaultAttemptTimeout, 30 s); an attempt that takes longer is abandoned
// and retried. d ≤ 0 keeps the default.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.attemptTimeout = d
		}
	}
}

// WithDeadlineReserve sets how much of its context's deadline a call
// leaves to its caller (default DefaultDeadlineReserve, 15 s, or half the
// time left when that is less): a webhook handler whose API call fails
// still has time to answer, with retry. d < 0 keeps the default.
func WithDeadlineReserve(d time.Duration) Option {
	return func(c *Client) {
		if d >= 0 {
			c.reserve = d
		}
	}
}

// Kinds of API call, given to an Observer.
const (
	KindTask       = "task"
	KindRulePut    = "rule_put"
	KindRuleDelete = "rule_delete"
	KindRuleList   = "rule_list"
)

// Observer is told of every attempt of an API call, for metrics: kind is
// one of the Kind… constants; status is the HTTP status of the answer (200
// for any success), or 0 when none came (a network error or a timeout);
// attempt counts from 1, so attempt > 1 is a retry; d is how long the
// attempt took. It is called synchronously and must be quick and safe for
// concurrent use. The JWT is never given to it.
type Observer func(kind string, status, attempt int, d time.Duration)

// WithObserver sets an Observer of the Client's API calls (nil: none).
func WithObserver(o Observer) Option { return func(c *Client) { c.observer = o } }

// WithLegacyRules stores rules through the legacy /v1/rules endpoints
// instead of Hive (dr-<namespace>).
func WithLegacyRules() Option {
	return func(c *Client) { c.legacyRules = true }
}

// NewClient returns a Client configured by opts. A base URL that cannot be
// used is reported by every call rather than here.
func NewClient(opts ...Option) *Client {
	c := &Client{
		baseURL:     DefaultBaseURL,
		maxAttempts: DefaultMaxAttempts,
		baseDelay:   DefaultBaseDelay,
		maxDelay:    DefaultMaxDelay,
		sleep:       sleepContext,

		attemptTimeout: DefaultAttemptTimeout,
		reserve:        DefaultDeadlineReserve,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.http == nil {
		c.http = newHTTPClient()
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	c.baseErr = checkBaseURL(c.baseURL)
	return c
}

// BaseURL returns the API base URL the Client calls, without trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

func newHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	// A service tasks many sensors of few orgs against one host: keep
	// enough idle connections to that host to avoid new handshakes.
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: DefaultAttemptTimeout}
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("tasking: API base URL %q (from WithBaseURL) does not parse: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("tasking: API base URL %q (from WithBaseURL) must be http:// or https:// with a host, e.g. %s", raw, DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("tasking: API base URL %q (from WithBaseURL) must not have a query or fragment", raw)
	}
	return nil
}

// Observed returns a copy of c that also tells o of every attempt of its
// API calls, after any Observer c already has. c itself is unchanged.
func (c *Client) Observed(o Observer) *Client {
	cp := *c
	if prev := c.observer; prev != nil && o != nil {
		cp.observer = func(kind string, status, attempt int, d time.Duration) {
			prev(kind, status, attempt, d)
			o(kind, status, attempt, d)
		}
	} else if o != nil {
		cp.observer = o
	}
	return &cp
}
