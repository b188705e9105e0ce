package tracking

import (
	"context"
	"sync"
	"time"
)

// Sweep removes every entry expired at now and hands each to
// Options.OnTimeout, concurrently, returning when all calls have returned.
// It returns how many expired. The table's clock calls it when the
// earliest entry is due; tests may call it directly. On a closed table it
// does nothing.
func (t *Table[V]) Sweep(now time.Time) int {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0
	}
	var expired []Entry[V]
	due := t.since(now)
	for i := t.set.earliest(); i != none && t.set.at(i).expires <= due; i = t.set.earliest() {
		expired = append(expired, t.entry(t.set.at(i), t.set.id(i)))
		t.set.remove(i)
	}
	t.stats.TimedOut += int64(len(expired))
	if len(expired) > 0 {
		t.set.shrink()
	}
	t.armLocked()
	if len(expired) == 0 || t.opts.OnTimeout == nil {
		t.mu.Unlock()
		return len(expired)
	}
	// Registered under the lock, before Shutdown can mark the table closed,
	// so Shutdown's wait covers these calls.
	t.callbacks.Add(1)
	t.mu.Unlock()
	defer t.callbacks.Done()

	if len(expired) == 1 {
		t.opts.OnTimeout(expired[0])
		return 1
	}
	var wg sync.WaitGroup
	for _, e := range expired {
		wg.Go(func() { t.opts.OnTimeout(e) })
	}
	wg.Wait()
	return len(expired)
}

// armLocked makes sure the clock calls the table back when the earliest
// entry is due. A timer already due no later is kept; an emptied queue
// keeps its timer, which then finds nothing. t.mu must be held.
func (t *Table[V]) armLocked() {
	i := t.set.earliest()
	if t.closed || i == none {
		return
	}
	at := t.set.at(i).expires
	if t.armed && t.timerAt <= at {
		return
	}
	if t.armed {
		t.timerStop()
	}
	t.timerGen++
	gen := t.timerGen
	t.armed, t.timerAt = true, at
	t.timerStop = t.opts.Clock.AfterFunc(t.time(at).Sub(t.opts.Clock.Now()), func() { t.fire(gen) })
}

// fire is the timer's callback: the earliest entry is due.
func (t *Table[V]) fire(gen uint64) {
	t.mu.Lock()
	if gen == t.timerGen {
		t.armed = false
	}
	t.mu.Unlock()
	t.Sweep(t.opts.Clock.Now())
}

// Close stops the table: it drops all pending entries without calling any
// callback, stops its timer, and waits for OnTimeout calls in flight. Later
// Adds fail with ErrClosed; Resolve and Done find nothing. Close is
// idempotent and always returns nil. It must not be called from OnTimeout.
func (t *Table[V]) Close() error {
	// Background never ends, so Shutdown cannot fail here.
	return t.Shutdown(context.Background())
}

// Shutdown is Close with a bound on the wait: if ctx ends before in-flight
// OnTimeout calls have finished, it returns ctx.Err() (the table is closed
// regardless, and those calls finish on their own).
func (t *Table[V]) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.stats.Dropped += int64(t.set.len())
		t.set = newPendingSet[V](0)
		if t.armed {
			t.timerStop()
			t.armed = false
		}
	}
	t.mu.Unlock()

	finished := make(chan struct{})
	go func() {
		t.callbacks.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
