package tasking

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryableStatus reports whether a call answered with status may succeed
// if sent again: rate limits and server errors. Other 4xx will not change.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status <= 599)
}

// backoff returns the wait before attempt+1: "full jitter", a uniform
// random duration in [0, min(maxDelay, baseDelay·2^(attempt-1))], which
// spreads out replicas that failed together.
func backoff(attempt int, baseDelay, maxDelay time.Duration) time.Duration {
	ceiling := baseDelay
	for i := 1; i < attempt && ceiling < maxDelay; i++ {
		if ceiling > maxDelay/2 {
			ceiling = maxDelay
			break
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, maxDelay)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// rateLimitWait reads how long a 429 response asks the client to wait:
// Retry-After (seconds or an HTTP date) first, else X-RateLimit-Period
// (seconds), capped by maxDelay. It returns 0 when neither says.
func rateLimitWait(h http.Header, now time.Time, maxDelay time.Duration) time.Duration {
	wait := retryAfter(h.Get("Retry-After"), now)
	if wait <= 0 {
		wait = seconds(h.Get("X-RateLimit-Period"))
	}
	if wait <= 0 {
		return 0
	}
	return min(wait, maxDelay)
}

func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if d := seconds(v); d > 0 {
		return d
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// seconds parses a non-negative number of seconds, possibly fractional.
func seconds(v string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f > 0 && f <= float64(24*time.Hour/time.Second)) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// sleepContext waits d, or less if ctx ends first (then it returns ctx's
// error).
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
