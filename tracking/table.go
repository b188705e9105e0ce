package tracking

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Table is the in-memory Store: an LRU of pending continuations with a
// per-entry expiry. It is safe for concurrent use. Create one with [New]
// and stop it with [Table.Close].
//
// A Table keeps times as nanoseconds from its creation on its clock, so
// the Created and Expires it returns are the instants it was given (equal
// under time.Time.Equal), expressed like its clock's times; a time more
// than 292 years away is kept as 292 years away.
//
// An ID in canonical UUID form (lowercase, as uuid.UUID.String gives) costs
// 16 bytes in the table, and the table keeps none of the caller's string:
// the ID of an entry handed to OnTimeout or OnEvict is a new string. Any
// other ID is kept as the caller's string.
type Table[V any] struct {
	opts  Options[V]
	epoch time.Time // the clock's time at New: stored times count from it

	mu     sync.Mutex
	set    pendingSet[V]
	closed bool
	stats  Stats

	// The sweep timer: armed for the earliest expiry, re-armed by each
	// sweep. gen tells a stale timer's call from the current one's.
	timerStop func() bool
	timerAt   int64 // since epoch
	timerGen  uint64
	armed     bool

	callbacks sync.WaitGroup // sweeps handing entries to OnTimeout
}

// New returns an empty table. It starts no goroutine of its own: its clock
// calls it back when the earliest entry is due.
func New[V any](opts Options[V]) (*Table[V], error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Table[V]{opts: opts, epoch: opts.Clock.Now(), set: newPendingSet[V](0)}, nil
}

// since returns tm as the table stores it: nanoseconds since its epoch.
func (t *Table[V]) since(tm time.Time) int64 { return int64(tm.Sub(t.epoch)) }

// time returns the time a stored ns stands for.
func (t *Table[V]) time(ns int64) time.Time { return t.epoch.Add(time.Duration(ns)) }

// entry returns the entry stored in n, whose ID is id.
func (t *Table[V]) entry(n *node[V], id string) Entry[V] {
	return Entry[V]{
		ID:        id,
		Value:     n.value,
		Created:   t.time(n.created),
		Expires:   t.time(n.expires),
		Streaming: n.streaming,
		Replies:   n.replies,
	}
}

// Add stores e until it is resolved, finished, expires or is evicted. A
// zero Created becomes now, a zero Expires becomes Created + Options.TTL
// (an Expires already past is accepted and times out at the next sweep).
// Add fails if e.ID is empty or already pending, or the table is closed. If
// the table is full, the least recently used entry is evicted and passed to
// Options.OnEvict before Add returns. The memory table never blocks, so ctx
// is not consulted.
func (t *Table[V]) Add(_ context.Context, e Entry[V]) error {
	if e.ID == "" {
		return ErrEmptyID
	}
	if e.Created.IsZero() {
		e.Created = t.opts.Clock.Now()
	}
	if e.Expires.IsZero() {
		e.Expires = e.Created.Add(t.opts.TTL)
	}
	n := node[V]{value: e.Value, created: t.since(e.Created), expires: t.since(e.Expires), streaming: e.Streaming}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	id := pendingIDOf(e.ID)
	if _, ok := t.set.find(id); ok {
		t.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrDuplicateID, e.ID)
	}
	var evicted []Entry[V]
	for t.set.len() >= t.opts.Capacity {
		i := t.set.oldest
		evicted = append(evicted, t.entry(t.set.at(i), t.set.id(i)))
		t.set.remove(i)
	}
	t.stats.Evicted += int64(len(evicted))
	i := t.set.insert(id, n)
	t.stats.Added++
	if t.set.earliest() == i {
		t.armLocked()
	}
	t.mu.Unlock()

	if t.opts.OnEvict != nil {
		for _, old := range evicted {
			t.opts.OnEvict(old)
		}
	}
	return nil
}

// Resolve returns the pending entry with the given ID for a reply, with
// Replies counting this reply. A single-reply entry is removed; a streaming
// entry stays, marked as recently used, until it expires or Done is called.
// ok is false if no such entry is pending, including one already past its
// expiry: that one belongs to OnTimeout. The error is always nil.
func (t *Table[V]) Resolve(_ context.Context, id string) (e Entry[V], ok bool, err error) {
	now := t.since(t.opts.Clock.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.set.lookup(id)
	if !ok {
		return Entry[V]{}, false, nil
	}
	n := t.set.at(i)
	if n.expires <= now {
		return Entry[V]{}, false, nil
	}
	n.replies++
	t.stats.Resolved++
	e = t.entry(n, id)
	if n.streaming {
		t.set.touch(i) // a reply is a use: keep it away from eviction
	} else {
		t.set.remove(i)
		t.set.shrink()
	}
	return e, true, nil
}

// Done removes the pending entry with the given ID and returns it, so no
// timeout fires for it; it is how a streaming entry is finished early, but
// works for any entry. ok is false if no such entry is pending, including
// one already past its expiry. The error is always nil.
func (t *Table[V]) Done(_ context.Context, id string) (e Entry[V], ok bool, err error) {
	now := t.since(t.opts.Clock.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.set.lookup(id)
	if !ok {
		return Entry[V]{}, false, nil
	}
	n := t.set.at(i)
	if n.expires <= now {
		return Entry[V]{}, false, nil
	}
	e = t.entry(n, id)
	t.set.remove(i)
	t.set.shrink()
	t.stats.Done++
	return e, true, nil
}

// Len returns the number of pending entries.
func (t *Table[V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.set.len()
}

// Stats returns a snapshot of the table's counters.
func (t *Table[V]) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Pending = int64(t.set.len())
	return s
}
