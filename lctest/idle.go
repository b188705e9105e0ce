package lctest

import (
	"context"
	"sync"
)

// idleTracker counts work in flight (a task waiting out its latency,
// events running through rules, a webhook being delivered) and lets
// WaitIdle block until the count drops to zero.
type idleTracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func newIdleTracker() *idleTracker {
	ch := make(chan struct{})
	close(ch)
	return &idleTracker{idle: ch}
}

// start records one more unit of work in flight.
func (t *idleTracker) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

// done records the end of a unit of work started with start.
func (t *idleTracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return
	}
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

// wait returns once nothing is in flight, or with ctx's error.
func (t *idleTracker) wait(ctx context.Context) error {
	t.mu.Lock()
	ch := t.idle
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitIdle blocks until no task, sensor event or webhook is in flight:
// every accepted task has been answered, its events have run through the
// rules, and every detection webhook has its response. Work started by
// those webhooks (a service tasking another sensor while handling a
// detection) is waited for too, because it starts before the webhook that
// caused it ends. A task to an offline sensor is never in flight. An
// extension's continuation is in flight once it is due: one whose delay
// is 0 from the answer that asked for it on, a later one only when its
// delay has passed (or RunContinuations fires it), so WaitIdle never
// waits out a delay.
// WaitIdle returns ctx's error if ctx ends first.
func (c *Cloud) WaitIdle(ctx context.Context) error {
	return c.idle.wait(ctx)
}
