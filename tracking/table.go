package tracking

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Table is the in-memory Store: an LRU of pending continuations with a
// per-entry expiry. It is safe for concurrent use. Create one with [New]
// and stop it with [Table.Close].
type Table[V any] struct {
	opts Options[V]

	mu      sync.Mutex
	pending *simplelru.LRU[string, *item[V]] // recency order, for eviction
	expiry  expiryQueue[V]                   // expiry order, for sweeping
	seq     uint64
	closed  bool
	stats   Stats
	peak    int // the most entries held since the storage was last rebuilt

	// The sweep timer: armed for the earliest expiry, re-armed by each
	// sweep. gen tells a stale timer's call from the current one's.
	timerStop func() bool
	timerAt   time.Time
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
	// The table evicts by itself before adding (so it can report what it
	// evicted after unlocking); the LRU's own eviction never triggers.
	pending, err := simplelru.NewLRU[string, *item[V]](opts.Capacity, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	return &Table[V]{opts: opts, pending: pending}, nil
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
	e.Replies = 0

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	if t.pending.Contains(e.ID) {
		t.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrDuplicateID, e.ID)
	}
	var evicted []Entry[V]
	for t.pending.Len() >= t.opts.Capacity {
		_, old, _ := t.pending.RemoveOldest()
		heap.Remove(&t.expiry, old.index)
		evicted = append(evicted, old.entry)
	}
	t.stats.Evicted += int64(len(evicted))
	t.seq++
	it := &item[V]{entry: e, seq: t.seq}
	t.pending.Add(e.ID, it)
	heap.Push(&t.expiry, it)
	t.peak = max(t.peak, t.pending.Len())
	t.stats.Added++
	if it.index == 0 {
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
	now := t.opts.Clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.pending.Peek(id)
	if !ok || it.entry.expired(now) {
		return Entry[V]{}, false, nil
	}
	it.entry.Replies++
	t.stats.Resolved++
	if it.entry.Streaming {
		t.pending.Get(id) // a reply is a use: keep it away from eviction
	} else {
		t.removeLocked(it)
	}
	return it.entry, true, nil
}

// Done removes the pending entry with the given ID and returns it, so no
// timeout fires for it; it is how a streaming entry is finished early, but
// works for any entry. ok is false if no such entry is pending, including
// one already past its expiry. The error is always nil.
func (t *Table[V]) Done(_ context.Context, id string) (e Entry[V], ok bool, err error) {
	now := t.opts.Clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.pending.Peek(id)
	if !ok || it.entry.expired(now) {
		return Entry[V]{}, false, nil
	}
	t.removeLocked(it)
	t.stats.Done++
	return it.entry, true, nil
}

// Len returns the number of pending entries.
func (t *Table[V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending.Len()
}

// Stats returns a snapshot of the table's counters.
func (t *Table[V]) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Pending = int64(t.pending.Len())
	return s
}

// removeLocked takes it out of both the LRU and the expiry queue. t.mu must
// be held.
func (t *Table[V]) removeLocked(it *item[V]) {
	t.pending.Remove(it.entry.ID)
	heap.Remove(&t.expiry, it.index)
	t.shrinkLocked()
}

// shrinkMin is the size below which the table never rebuilds its storage.
const shrinkMin = 1024

// shrinkLocked gives memory back after a burst. A Go map keeps the room of
// the most entries it ever held, and the expiry queue its capacity, so
// once the table holds less than a quarter of its peak, both are rebuilt
// at their present size. Each rebuild costs as many moves as the entries
// kept, fewer than the removals since the last one. t.mu must be held.
func (t *Table[V]) shrinkLocked() {
	n := t.pending.Len()
	if t.peak < shrinkMin || n >= t.peak/4 {
		return
	}
	fresh, _ := simplelru.NewLRU[string, *item[V]](t.opts.Capacity, nil)
	for _, k := range t.pending.Keys() { // oldest first, keeping the order
		it, _ := t.pending.Peek(k)
		fresh.Add(k, it)
	}
	t.pending = fresh
	t.expiry = append(make(expiryQueue[V], 0, n), t.expiry...)
	t.peak = n
}
