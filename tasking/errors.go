package tasking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Sentinel errors an *APIError matches with errors.Is, one per class of
// HTTP status the LimaCharlie API answers with.
var (
	// ErrUnauthorized matches HTTP 401: in a service this almost always
	// means the webhook JWT expired, and a service has no key to renew it.
	ErrUnauthorized = errors.New("tasking: unauthorized (HTTP 401)")
	// ErrForbidden matches HTTP 403: the service lacks a permission.
	ErrForbidden = errors.New("tasking: forbidden (HTTP 403)")
	// ErrNotFound matches HTTP 404: unknown sensor, or a rule that does not
	// exist (DeleteRule callers may ignore it).
	ErrNotFound = errors.New("tasking: not found (HTTP 404)")
	// ErrRateLimited matches HTTP 429.
	ErrRateLimited = errors.New("tasking: rate limited (HTTP 429)")
	// ErrServer matches any HTTP 5xx.
	ErrServer = errors.New("tasking: server error (HTTP 5xx)")
	// ErrTimeout matches a call the API did not answer in time: an attempt
	// longer than the attempt timeout, or no answer before the call had to
	// end to leave its caller time (see WithDeadlineReserve).
	ErrTimeout = errors.New("tasking: the API did not answer in time")
)

// IsTransient reports whether err is a failure that may not happen again
// if the same call is made later: a rate limit (HTTP 429), a server error
// (5xx), a call the API did not answer in time, or a network failure (a
// refused or dropped connection, a reset, a timeout). A handler answers
// such failures with retry (service.FailOrRetry does), so the cloud
// delivers the event again. So is an error with a method Transient() bool
// that returns true, such as a shared store's failure to reach Redis
// (tracking.ErrUnavailable). Other errors — 401, 403, 404, a bad request,
// a context cancelled by the caller — are not transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var t interface{ Transient() bool }
	if errors.As(err, &t) && t.Transient() {
		return true
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retryableStatus(apiErr.Status)
	}
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, context.Canceled):
		return false
	}
	// Judge a transport failure by its cause: *url.Error says it is a
	// net.Error whatever happened, a certificate refused included.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// maxErrorBody is how much of a failed response's body an APIError keeps.
const maxErrorBody = 1024

// APIError is a call the API answered with a non-2xx status.
type APIError struct {
	Op     string // the call, e.g. `task sensor "…"` or `delete rule managed/…`
	Status int    // HTTP status code
	Body   string // start of the response body, at most 1 KiB
}

// Error says which call failed, with what status, what that usually means
// and what the server said.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tasking: %s: HTTP %d", e.Op, e.Status)
	if text := http.StatusText(e.Status); text != "" {
		b.WriteString(" " + text)
	}
	if hint := statusHint(e.Status); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's status class.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500 && e.Status <= 599
	}
	return false
}

func statusHint(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "the webhook JWT has probably expired: it lasts about 30 minutes and a service cannot renew it, " +
			"so make the call while handling a recent webhook, or answer retry to get a fresh one"
	case status == http.StatusForbidden:
		return "the service lacks a permission for this call: tasking needs sensor.task, " +
			"rules need dr.list.<namespace>, dr.set.<namespace> and dr.del.<namespace>"
	case status == http.StatusNotFound:
		return "no such sensor or rule"
	case status == http.StatusTooManyRequests:
		return "rate limited: retries exhausted or out of time; slow down or spread calls out"
	case status >= 500 && status <= 599:
		return "LimaCharlie server error: retries exhausted or out of time; try again later"
	}
	return ""
}

// newAPIError builds the error for a failed response, with jwt redacted
// from the body and the body cut to maxErrorBody on a rune boundary.
func newAPIError(op string, status int, body []byte, jwt string) *APIError {
	s := string(body)
	if jwt != "" {
		s = strings.ReplaceAll(s, jwt, "[redacted]")
	}
	s = strings.TrimSpace(s)
	if len(s) > maxErrorBody {
		cut := maxErrorBody
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return &APIError{Op: op, Status: status, Body: s}
}
