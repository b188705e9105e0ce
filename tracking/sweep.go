package tracking

import (
	"container/heap"
	"context"
	"time"
)

// Sweep removes every entry expired at now and passes each, in expiry
// order, to Options.OnTimeout on the calling goroutine. It returns how many
// expired. The sweeper calls it on every tick with the table's clock; tests
// may call it directly with a fake time. On a closed table it does nothing.
func (t *Table[V]) Sweep(now time.Time) int {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0
	}
	var expired []Entry[V]
	for t.expiry.due(now) {
		it := heap.Pop(&t.expiry).(*item[V])
		t.pending.Remove(it.entry.ID)
		expired = append(expired, it.entry)
	}
	t.stats.TimedOut += int64(len(expired))
	if len(expired) == 0 || t.opts.OnTimeout == nil {
		t.mu.Unlock()
		return len(expired)
	}
	// Registered under the lock, before Shutdown can mark the table closed,
	// so Shutdown's wait covers these calls.
	t.callbacks.Add(1)
	t.mu.Unlock()

	defer t.callbacks.Done()
	for _, e := range expired {
		t.opts.OnTimeout(e)
	}
	return len(expired)
}

// sweepLoop runs Sweep when the earliest entry is due, and at least every
// SweepInterval (a clock given in Options may move without real time
// passing). A short per-entry TTL therefore fires on time, not at the next
// interval.
func (t *Table[V]) sweepLoop() {
	defer close(t.sweeperDone)
	timer := time.NewTimer(t.opts.SweepInterval)
	defer timer.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-t.wake:
		case <-timer.C:
			t.Sweep(t.opts.Now())
		}
		timer.Reset(t.nextSweep())
	}
}

// nextSweep is the wait until the earliest expiry, capped by SweepInterval.
func (t *Table[V]) nextSweep() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := t.opts.SweepInterval
	if len(t.expiry) > 0 {
		if d := t.expiry[0].entry.Expires.Sub(t.opts.Now()); d < wait {
			wait = max(d, time.Millisecond)
		}
	}
	return wait
}

// Close stops the table: it drops all pending entries without calling any
// callback, stops the sweeper, and waits for it and for any OnTimeout calls
// in flight. Later Adds fail with ErrClosed; Resolve and Done find nothing.
// Close is idempotent. It must not be called from OnTimeout.
func (t *Table[V]) Close() {
	// Background never ends, so Shutdown cannot fail here.
	_ = t.Shutdown(context.Background())
}

// Shutdown is Close with a bound on the wait: if ctx ends before the
// sweeper and in-flight OnTimeout calls have finished, it returns ctx.Err()
// (the table is closed regardless, and those calls finish on their own).
func (t *Table[V]) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.stats.Dropped += int64(t.pending.Len())
		t.pending.Purge()
		clear(t.expiry)
		t.expiry = nil
		close(t.stop)
	}
	t.mu.Unlock()

	select {
	case <-t.sweeperDone:
	case <-ctx.Done():
		return ctx.Err()
	}
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
