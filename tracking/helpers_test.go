package tracking

import (
	"context"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
	case <-time.After(waitLimit(t)):
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

// waitLimit is how long a test waits for something that must happen (a
// call returning, a callback running) before failing: until shortly before
// the test binary's deadline (go test -timeout), so that a loaded machine
// is never taken for a hang, and a hang still fails with a message of its
// own rather than the binary's panic. In a synctest bubble it is an hour of
// the bubble's time, which passes only once every goroutine there waits.
func waitLimit(t testing.TB) time.Duration {
	if inBubble() {
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

// inBubble reports whether the caller runs in a synctest bubble.
func inBubble() bool {
	buf := make([]byte, 256)
	_, bubble := goroutineHeader(string(buf[:runtime.Stack(buf, false)]))
	return bubble != ""
}

// bubbleGoroutines returns, by goroutine id, the stacks of the goroutines
// in the caller's synctest bubble other than the caller (the bubble also
// holds synctest's own). Called right after synctest.Wait, when every
// other goroutine of the bubble has exited or is durably blocked, those it
// returns that an earlier call did not are exactly the ones left behind
// since: see startedSince.
func bubbleGoroutines(t *testing.T) map[string]string {
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
	_, bubble := goroutineHeader(stacks[0])
	if bubble == "" {
		t.Fatal("bubbleGoroutines called outside a synctest bubble")
	}
	in := map[string]string{}
	for _, s := range stacks[1:] {
		if id, b := goroutineHeader(s); b == bubble {
			in[id] = s
		}
	}
	return in
}

// startedSince returns the stacks of the goroutines in the caller's bubble
// that were not in it at before (a bubbleGoroutines).
func startedSince(t *testing.T, before map[string]string) []string {
	t.Helper()
	var started []string
	for id, s := range bubbleGoroutines(t) {
		if _, old := before[id]; !old {
			started = append(started, s)
		}
	}
	return started
}

// goroutineHeader reads a goroutine's id and synctest bubble ("" if none)
// from the first line of its stack: "goroutine 7 [chan receive (durable),
// synctest bubble 1]:".
func goroutineHeader(stack string) (id, bubble string) {
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
