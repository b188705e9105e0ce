package tasking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBody bounds how much of a response the client reads; a rule
// list is the largest answer it expects.
const maxResponseBody = 32 << 20

// apiCall is one logical API call, sent as many times as retries need.
type apiCall struct {
	op     string     // names the call in errors
	kind   string     // the Kind… constant given to the Observer
	method string     // HTTP method
	path   string     // escaped path starting with /v1/
	query  url.Values // optional
	form   url.Values // optional form-encoded body
	header http.Header
}

// pathSegment escapes one path segment, refusing values that would change
// which resource the path names.
func pathSegment(what, v string) (string, error) {
	switch v {
	case "":
		return "", fmt.Errorf("tasking: %s is empty", what)
	case ".", "..":
		return "", fmt.Errorf("tasking: %s %q is not a valid name", what, v)
	}
	return url.PathEscape(v), nil
}

// do sends call, retrying per the Client's policy, and returns the body of
// the first 2xx response.
func (c *Client) do(ctx context.Context, org Org, call apiCall) ([]byte, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	if err := org.Valid(); err != nil {
		return nil, err
	}
	target := c.baseURL + call.path
	if len(call.query) > 0 {
		target += "?" + call.query.Encode()
	}
	var body []byte
	if call.form != nil {
		body = []byte(call.form.Encode())
	}

	// The call ends early enough to leave the caller time to answer: a
	// reserve is kept before the context's deadline.
	callCtx, deadline := ctx, time.Time{}
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl.Add(-min(c.reserve, time.Until(dl)/2))
		var cancel context.CancelFunc
		callCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}

	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, stopped(call.op, err, lastErr)
		}
		actx, cancel := context.WithTimeout(callCtx, c.attemptTimeout)
		began := time.Now()
		resp, hint, err := c.attempt(actx, org, call, target, body)
		if c.observer != nil {
			c.observer(call.kind, statusOf(resp, err), attempt, time.Since(began))
		}
		attemptTimedOut := actx.Err() != nil
		cancel()
		if err == nil {
			return resp, nil
		}
		var apiErr *APIError
		answered := errors.As(err, &apiErr)
		if answered && !retryableStatus(apiErr.Status) {
			return nil, err
		}
		switch {
		case !answered && ctx.Err() != nil:
			// The failure is the caller's context ending, not the network.
			return nil, stopped(call.op, ctx.Err(), lastErr)
		case !answered && callCtx.Err() != nil:
			err = fmt.Errorf("tasking: %s: %w: no answer before the call's deadline, %s before the caller's, kept for answering (%s)",
				call.op, ErrTimeout, c.reserveFor(ctx).Round(time.Millisecond), plural(attempt, "attempt"))
			if lastErr != nil {
				// Still matches what the earlier attempts got (a 5xx, say).
				err = fmt.Errorf("%w (last error: %w)", err, lastErr)
			}
			return nil, err
		case !answered && attemptTimedOut:
			err = fmt.Errorf("tasking: %s: %w: no answer within %s", call.op, ErrTimeout, c.attemptTimeout)
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, stopped(call.op, ctx.Err(), lastErr)
		}
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("%w (gave up after %s)", lastErr, plural(attempt, "attempt"))
		}
		wait := hint
		if wait <= 0 {
			wait = backoff(attempt, c.baseDelay, c.maxDelay)
		}
		if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w (gave up after %s: the next one, in %s, would pass the context deadline less the time kept for answering)",
				lastErr, plural(attempt, "attempt"), wait.Round(time.Millisecond))
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, stopped(call.op, err, lastErr)
		}
	}
}

// reserveFor is the time a call under ctx leaves before ctx's deadline.
func (c *Client) reserveFor(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl), 0)
}

// attempt sends one request. It returns the body of a 2xx response, or an
// error and, for a 429, the wait the server asked for.
func (c *Client) attempt(ctx context.Context, org Org, call apiCall, target string, body []byte) ([]byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, call.method, target, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("tasking: %s: %w", call.op, err)
	}
	for k, vs := range call.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "bearer "+org.JWT)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lcservice-tasking")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("tasking: %s: %w", call.op, redactError(err, org.JWT))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, 0, fmt.Errorf("tasking: %s: reading the HTTP %d response: %w", call.op, resp.StatusCode, redactError(err, org.JWT))
	}
	if len(data) > maxResponseBody {
		return nil, 0, fmt.Errorf("tasking: %s: response larger than %d bytes", call.op, maxResponseBody)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return data, 0, nil
	}
	var hint time.Duration
	if resp.StatusCode == http.StatusTooManyRequests {
		hint = rateLimitWait(resp.Header, time.Now(), c.maxDelay)
	}
	return nil, hint, newAPIError(call.op, resp.StatusCode, data, org.JWT)
}

// stopped is the error for a call whose context ended: it matches both the
// context's error and the last API or network error, if any.
func stopped(op string, ctxErr, lastErr error) error {
	if lastErr == nil {
		return fmt.Errorf("tasking: %s: %w", op, ctxErr)
	}
	return fmt.Errorf("tasking: %s: %w (last error: %w)", op, ctxErr, lastErr)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// redactError keeps err matchable but scrubs jwt from its text, in case a
// transport ever quotes a header back.
func redactError(err error, jwt string) error {
	if jwt == "" || !strings.Contains(err.Error(), jwt) {
		return err
	}
	return &redacted{err: err, text: strings.ReplaceAll(err.Error(), jwt, "[redacted]")}
}

type redacted struct {
	err  error
	text string
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.err }

// statusOf is the HTTP status an attempt was answered with: 200 for a
// success, the APIError's status, or 0 when no status came back.
func statusOf(_ []byte, err error) int {
	if err == nil {
		return http.StatusOK
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}
