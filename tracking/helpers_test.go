package tracking

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/bubble"
)

// testStart is where every test's ManualClock starts.
var testStart = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// ctx is the context the tests pass to the table; the memory table never
// consults it.
var ctx = context.Background()

func newTestClock() *ManualClock { return NewManualClock(testStart) }

// pendingTimers is how many functions c has scheduled and not yet run or
// stopped.
func pendingTimers(c *ManualClock) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// recorder collects what the table hands to its callbacks.
type recorder struct {
	mu       sync.Mutex
	timedOut []Entry[string]
	evicted  []Entry[string]
}

func (r *recorder) onTimeout(e Entry[string]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timedOut = append(r.timedOut, e)
}

func (r *recorder) onEvict(e Entry[string]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evicted = append(r.evicted, e)
}

// timedOutIDs returns the IDs handed to OnTimeout, in call order. The
// entries of one sweep are handed over concurrently, so their relative
// order is not defined; compare those with sortedIDs.
func (r *recorder) timedOutIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return entryIDs(r.timedOut)
}

func (r *recorder) evictedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return entryIDs(r.evicted)
}

func entryIDs(es []Entry[string]) []string {
	ids := make([]string, 0, len(es))
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// sorted returns a sorted copy of ids.
func sorted(ids []string) []string {
	return slices.Sorted(slices.Values(ids))
}

// newTestTable returns a table on a ManualClock standing at testStart, so
// entries expire only when the test advances the clock (or calls Sweep).
// opts fields left zero get the clock, the recorder's callbacks and a 1
// minute TTL.
func newTestTable(t *testing.T, opts Options[string]) (*Table[string], *ManualClock, *recorder) {
	t.Helper()
	clock := newTestClock()
	rec := &recorder{}
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.OnTimeout == nil {
		opts.OnTimeout = rec.onTimeout
	}
	if opts.OnEvict == nil {
		opts.OnEvict = rec.onEvict
	}
	if opts.TTL == 0 {
		opts.TTL = time.Minute
	}
	table, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { closeWithin(t, table) })
	return table, clock, rec
}

// closeWithin closes table, failing the test rather than hanging it if
// Close blocks (as it would on a table left deadlocked by a bug).
func closeWithin[V any](t *testing.T, table *Table[V]) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- table.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(bubble.WaitLimit(t)):
		t.Error("Close did not return: it is blocked")
	}
}

func mustAdd(t *testing.T, table *Table[string], e Entry[string]) {
	t.Helper()
	if err := table.Add(ctx, e); err != nil {
		t.Fatalf("Add(%q): %v", e.ID, err)
	}
}

// resolve and done drop the error, which the memory table never returns,
// after checking that it is nil.
func resolve[V any](t *testing.T, table *Table[V], id string) (Entry[V], bool) {
	t.Helper()
	e, ok, err := table.Resolve(ctx, id)
	if err != nil {
		t.Errorf("Resolve(%q) error: %v", id, err)
	}
	return e, ok
}

func done[V any](t *testing.T, table *Table[V], id string) (Entry[V], bool) {
	t.Helper()
	e, ok, err := table.Done(ctx, id)
	if err != nil {
		t.Errorf("Done(%q) error: %v", id, err)
	}
	return e, ok
}
