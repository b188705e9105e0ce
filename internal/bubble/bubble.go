// Package bubble helps tests that run in a testing/synctest bubble, or
// that may: whether the caller is in one, which goroutines a test left in
// it, and how long a test may wait for something that must happen.
package bubble

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// In reports whether the caller runs in a synctest bubble.
func In() bool {
	buf := make([]byte, 256)
	_, b := header(string(buf[:runtime.Stack(buf, false)]))
	return b != ""
}

// Goroutines returns, by goroutine id, the stacks of the goroutines in the
// caller's synctest bubble other than the caller (the bubble also holds
// synctest's own). Called right after synctest.Wait, when every other
// goroutine of the bubble has exited or is durably blocked, those it
// returns that an earlier call did not are exactly the ones left behind
// since: see StartedSince.
func Goroutines(t testing.TB) map[string]string {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := strings.Split(string(buf), "\n\n")
	// The caller's own stack comes first.
	_, bubble := header(stacks[0])
	if bubble == "" {
		t.Fatal("bubble.Goroutines called outside a synctest bubble")
	}
	in := map[string]string{}
	for _, s := range stacks[1:] {
		if id, b := header(s); b == bubble {
			in[id] = s
		}
	}
	return in
}

// StartedSince returns the stacks of the goroutines in the caller's bubble
// that were not in it at before (a Goroutines).
func StartedSince(t testing.TB, before map[string]string) []string {
	t.Helper()
	var started []string
	for id, s := range Goroutines(t) {
		if _, old := before[id]; !old {
			started = append(started, s)
		}
	}
	return started
}

// WaitLimit is how long a test waits for something that must happen (a
// call returning, a callback running) before failing: until shortly before
// the test binary's deadline (go test -timeout), so that a loaded machine
// is never taken for a hang, and a hang still fails with a message of its
// own rather than the binary's panic. In a synctest bubble (where
// t.Deadline may not be called) it is an hour of the bubble's time, which
// passes only once every goroutine there waits.
func WaitLimit(t testing.TB) time.Duration {
	if In() {
		return time.Hour
	}
	var deadline time.Time
	ok := false
	if d, has := t.(interface{ Deadline() (time.Time, bool) }); has {
		deadline, ok = d.Deadline()
	}
	if !ok {
		return 24 * time.Hour // no deadline (-timeout 0, a benchmark) to keep clear of
	}
	left := time.Until(deadline)
	return max(left-left/10, 0)
}

// header reads a goroutine's id and synctest bubble ("" if none) from the
// first line of its stack: "goroutine 7 [chan receive (durable), synctest
// bubble 1]:".
func header(stack string) (id, bubble string) {
	line, _, _ := strings.Cut(stack, "\n")
	if m := goroutineID.FindStringSubmatch(line); m != nil {
		id = m[1]
	}
	if m := goroutineBubble.FindStringSubmatch(line); m != nil {
		bubble = m[1]
	}
	return id, bubble
}

var (
	goroutineID     = regexp.MustCompile(`^goroutine (\d+) \[`)
	goroutineBubble = regexp.MustCompile(`, synctest bubble (\d+)\b`)
)

// Await waits for a value on ch and returns it, failing t if none comes
// within WaitLimit: a loaded machine is never taken for a hang, and a hang
// fails with a message naming what was awaited.
func Await[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(WaitLimit(t)):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
