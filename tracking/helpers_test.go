package tracking

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
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

// newFakeTable returns a table on a fake clock whose sweeper never ticks
// during the test, so only the test's own Sweep calls expire entries. opts
// fields left zero get the fake clock, the recorder's callbacks, a 1 minute
// TTL and an hour-long sweep interval.
func newFakeTable(t *testing.T, opts Options[string]) (*Table[string], *fakeClock, *recorder) {
	t.Helper()
	clock := newFakeClock()
	rec := &recorder{}
	if opts.Now == nil {
		opts.Now = clock.Now
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
	if opts.SweepInterval == 0 {
		opts.SweepInterval = time.Hour
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
	closed := make(chan struct{})
	go func() {
		table.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("Close did not return within 10s")
	}
}

func mustAdd(t *testing.T, table *Table[string], e Entry[string]) {
	t.Helper()
	if err := table.Add(e); err != nil {
		t.Fatalf("Add(%q): %v", e.ID, err)
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
