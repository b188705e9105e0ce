package main

import (
	"bufio"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// transcript collects what a command running on another goroutine prints
// to a pipe, line by line, and lets a test wait for a line.
type transcript struct {
	mu     sync.Mutex
	lines  []string
	notify chan struct{} // a line arrived (capacity 1: a wake-up, not a count)
	done   chan struct{} // the pipe was closed
}

func newTranscript(r io.Reader) *transcript {
	t := &transcript{notify: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			t.mu.Lock()
			t.lines = append(t.lines, sc.Text())
			t.mu.Unlock()
			select {
			case t.notify <- struct{}{}:
			default:
			}
		}
		// Keep the writer from blocking if the scanner gave up.
		_, _ = io.Copy(io.Discard, r)
	}()
	return t
}

// waitFor returns the first line starting with prefix, failing the test if
// none comes within timeout or the output ends first.
func (t *transcript) waitFor(tb testing.TB, prefix string, timeout time.Duration) string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if l, ok := t.find(prefix); ok {
			return l
		}
		select {
		case <-t.notify:
		case <-t.done:
			// One last look: the line may have come just before the close.
			if l, ok := t.find(prefix); ok {
				return l
			}
			tb.Fatalf("output ended without a line starting with %q:\n%s", prefix, t.text())
		case <-deadline.C:
			tb.Fatalf("no line starting with %q within %s:\n%s", prefix, timeout, t.text())
		}
	}
}

func (t *transcript) find(prefix string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lines {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

// text is everything read so far.
func (t *transcript) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n") + "\n"
}
