package tracking

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lcsvc/lcservice/internal/bubble"
)

// expiringEntries are added out of expiry order; "c1" and "c2" tie.
var expiringEntries = []struct {
	id  string
	ttl time.Duration
}{
	{"c1", 3 * time.Second}, {"a", time.Second}, {"d", 4 * time.Second},
	{"c2", 3 * time.Second}, {"b", 2 * time.Second},
}

// TestSweepExpiresInOrder calls Sweep directly with times of its own; the
// clock never moves, so the table's timer never fires.
func TestSweepExpiresInOrder(t *testing.T) {
	table, _, rec := newTestTable(t, Options[string]{TTL: time.Minute})
	for _, e := range expiringEntries {
		mustAdd(t, table, Entry[string]{ID: e.id, Expires: testStart.Add(e.ttl)})
	}
	steps := []struct {
		at        time.Duration
		wantCount int
		wantIDs   []string // timed out by this sweep, sorted
	}{
		{0, 0, nil},
		{time.Second - 1, 0, nil},
		{time.Second, 1, []string{"a"}},
		{time.Second, 0, nil},
		{3 * time.Second, 3, []string{"b", "c1", "c2"}},
		{time.Hour, 1, []string{"d"}},
		{2 * time.Hour, 0, nil},
	}
	var seen int
	for _, s := range steps {
		if n := table.Sweep(testStart.Add(s.at)); n != s.wantCount {
			t.Errorf("Sweep(+%v) = %d, want %d", s.at, n, s.wantCount)
		}
		// Sweep returns after OnTimeout has returned for every entry.
		all := rec.timedOutIDs()
		if got := sorted(all[seen:]); !slices.Equal(got, s.wantIDs) {
			t.Errorf("Sweep(+%v) timed out %v, want %v", s.at, got, s.wantIDs)
		}
		seen = len(all)
	}
	if table.Len() != 0 {
		t.Errorf("Len = %d after everything expired, want 0", table.Len())
	}
}

// TestTimerExpiresInOrder is TestSweepExpiresInOrder driven by the clock:
// the table's timer fires for the earliest entry and re-arms for the next
// after each sweep.
func TestTimerExpiresInOrder(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{TTL: time.Minute})
	for _, e := range expiringEntries {
		mustAdd(t, table, Entry[string]{ID: e.id, Expires: testStart.Add(e.ttl)})
	}
	steps := []struct {
		advance time.Duration
		wantIDs []string // timed out during this Advance, sorted
	}{
		{0, nil},
		{time.Second - 1, nil},
		{1, []string{"a"}},
		{0, nil},
		{2 * time.Second, []string{"b", "c1", "c2"}},
		{time.Hour, []string{"d"}},
		{time.Hour, nil},
	}
	var seen int
	for _, s := range steps {
		clock.Advance(s.advance)
		all := rec.timedOutIDs()
		if got := sorted(all[seen:]); !slices.Equal(got, s.wantIDs) {
			t.Errorf("Advance(%v) to +%v timed out %v, want %v", s.advance, clock.Now().Sub(testStart), got, s.wantIDs)
		}
		seen = len(all)
	}
	if table.Len() != 0 {
		t.Errorf("Len = %d after everything expired, want 0", table.Len())
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("the emptied table left %d timers scheduled, want 0", n)
	}
}

// The expiry heap orders by expiry, then by insertion: entries that expire
// together are swept in the order they were added.
func TestExpiryHeapOrder(t *testing.T) {
	s := newPendingSet[string](0)
	for _, e := range expiringEntries {
		s.insert(pendingIDOf(e.id), node[string]{expires: int64(e.ttl)})
		if err := s.check(); err != nil {
			t.Fatalf("after adding %q: %v", e.id, err)
		}
	}
	var got []string
	for i := s.earliest(); i != none; i = s.earliest() {
		got = append(got, s.id(i))
		s.remove(i)
		if err := s.check(); err != nil {
			t.Fatalf("after removing %q: %v", got[len(got)-1], err)
		}
	}
	if want := []string{"a", "b", "c1", "c2", "d"}; !slices.Equal(got, want) {
		t.Errorf("expiry order %v, want %v", got, want)
	}
}

func TestSweepReportsFinalReplies(t *testing.T) {
	tests := []struct {
		name    string
		replies int
	}{
		{"streaming entry never answered", 0},
		{"streaming entry answered once", 1},
		{"streaming entry answered many times", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, clock, rec := newTestTable(t, Options[string]{TTL: time.Minute})
			mustAdd(t, table, Entry[string]{ID: "s", Streaming: true})
			for range tt.replies {
				if _, ok := resolve(t, table, "s"); !ok {
					t.Fatal("Resolve of pending streaming entry failed")
				}
			}
			clock.Advance(time.Minute)
			clock.Advance(time.Hour)
			if n := table.Sweep(clock.Now()); n != 0 {
				t.Errorf("Sweep after the timeout = %d, want 0", n)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.timedOut) != 1 {
				t.Fatalf("OnTimeout called %d times, want 1", len(rec.timedOut))
			}
			if got := rec.timedOut[0].Replies; got != tt.replies {
				t.Errorf("OnTimeout got Replies = %d, want %d", got, tt.replies)
			}
		})
	}
}

// Entries that leave early must also leave the expiry queue, or a busy table
// would hold on to every resolved entry until its TTL; and replacing the
// timer for an earlier expiry must stop the old one.
func TestRemovedEntriesLeaveExpiryQueue(t *testing.T) {
	table, clock, _ := newTestTable(t, Options[string]{Capacity: 10})
	for i := range 100 {
		id := fmt.Sprint(i)
		// Each entry expires before all earlier ones, so each re-arms.
		mustAdd(t, table, Entry[string]{ID: id, Streaming: i%2 == 0, Expires: clock.Now().Add(time.Duration(100-i) * time.Second)})
		switch i % 4 {
		case 0:
			done(t, table, id)
		case 1:
			resolve(t, table, id)
		}
	}
	table.mu.Lock()
	n, slots, err := table.set.len(), table.set.slots, table.set.check()
	table.mu.Unlock()
	if err != nil {
		t.Error(err)
	}
	if n != 10 || slots != 10 {
		t.Errorf("%d entries pending in %d slots, want 10 in 10", n, slots)
	}
	if n := pendingTimers(clock); n != 1 {
		t.Errorf("%d timers scheduled after 100 re-arms, want 1", n)
	}
}

func TestOnTimeoutMayCallTable(t *testing.T) {
	var table *Table[string]
	calledBack := make(chan error, 1)
	table, clock, _ := newTestTable(t, Options[string]{
		OnTimeout: func(e Entry[string]) {
			table.Len()
			table.Stats()
			_, _, _ = table.Resolve(ctx, "other")
			_, _, _ = table.Done(ctx, "nothing")
			calledBack <- table.Add(ctx, Entry[string]{ID: e.ID + "-retry"})
		},
	})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "other", Expires: clock.Now().Add(time.Hour)})

	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		clock.Advance(time.Minute)
	}()
	select {
	case <-advanced:
	case <-time.After(bubble.WaitLimit(t)):
		t.Fatal("the timeout deadlocked with an OnTimeout that calls into the table")
	}
	if err := <-calledBack; err != nil {
		t.Errorf("Add from OnTimeout: %v", err)
	}
	if _, ok := done(t, table, "a-retry"); !ok {
		t.Error("entry added from OnTimeout is not pending")
	}
	if s := table.Stats(); s.TimedOut != 1 || s.Resolved != 1 {
		t.Errorf("Stats = %+v, want TimedOut 1 and Resolved 1 (other, from OnTimeout)", s)
	}
}

// The table arms its timer for the earliest expiry, and re-arms it when an
// entry added later expires sooner.
func TestTimerRearmsForEarlierExpiry(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{TTL: time.Hour})
	mustAdd(t, table, Entry[string]{ID: "ten", Expires: testStart.Add(10 * time.Minute)})
	mustAdd(t, table, Entry[string]{ID: "one", Expires: testStart.Add(time.Minute)})
	if n := pendingTimers(clock); n != 1 {
		t.Errorf("%d timers scheduled, want 1: the later one should be replaced", n)
	}

	clock.Advance(time.Minute)
	if got := rec.timedOutIDs(); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("after 1m timed out %v, want [one]", got)
	}
	if table.Len() != 1 {
		t.Fatalf("Len = %d after 1m, want 1 (ten)", table.Len())
	}
	if n := pendingTimers(clock); n != 1 {
		t.Errorf("%d timers scheduled after the sweep, want 1: re-armed for ten", n)
	}

	clock.Advance(9*time.Minute - 1)
	if got := rec.timedOutIDs(); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("just before 10m timed out %v, want [one]", got)
	}
	clock.Advance(1)
	if got := rec.timedOutIDs(); !slices.Equal(got, []string{"one", "ten"}) {
		t.Errorf("at 10m timed out %v, want [one ten]", got)
	}
}

// An entry added with an expiry already past times out at the next sweep:
// the clock's next Advance, even by nothing.
func TestExpiryInThePast(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{})
	mustAdd(t, table, Entry[string]{ID: "late", Expires: testStart.Add(-time.Second)})
	if _, ok := resolve(t, table, "late"); ok {
		t.Error("an entry added already expired resolves")
	}
	clock.Advance(0)
	if got := rec.timedOutIDs(); !slices.Equal(got, []string{"late"}) {
		t.Errorf("timed out %v, want [late]", got)
	}
}

// A table with nothing pending has no timer: it costs nothing while idle.
func TestIdleTableArmsNothing(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{})
	if n := pendingTimers(clock); n != 0 {
		t.Fatalf("a new table scheduled %d timers, want 0", n)
	}
	clock.Advance(time.Hour)

	// A timer armed for an entry that then left fires once, finds nothing
	// and is not re-armed.
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "b", Streaming: true})
	resolve(t, table, "a")
	resolve(t, table, "b")
	done(t, table, "b")
	clock.Advance(time.Hour)
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("an emptied table has %d timers scheduled after its old one fired, want 0", n)
	}
	if got := rec.timedOutIDs(); len(got) != 0 {
		t.Errorf("timed out %v, want nothing", got)
	}
}

// The entries of one sweep are handed to OnTimeout concurrently: two calls
// that each wait for the other both finish. In a synctest bubble, calls
// made one after the other would leave the first waiting with every other
// goroutine blocked, and the bubble's clock would move to its timeout at
// once.
func TestOnTimeoutRunsConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 3
		var arrived sync.WaitGroup
		arrived.Add(n)
		allArrived := make(chan struct{})
		go func() {
			arrived.Wait()
			close(allArrived)
		}()
		var met atomic.Int32
		table, clock, _ := newTestTable(t, Options[string]{
			OnTimeout: func(e Entry[string]) {
				arrived.Done()
				select {
				case <-allArrived:
					met.Add(1)
				case <-time.After(time.Hour): // bubble time: passes only if nothing else can happen
					t.Errorf("OnTimeout(%s) waited for the others in vain: the calls are not concurrent", e.ID)
				}
			},
		})
		for i := range n {
			mustAdd(t, table, Entry[string]{ID: fmt.Sprint(i)})
		}
		clock.Advance(time.Minute)
		if got := met.Load(); got != n {
			t.Errorf("%d OnTimeout calls met the others, want %d", got, n)
		}
	})
}

// Advance, and so the sweep its timer runs, returns only after OnTimeout
// has returned, for one expired entry or several. In a synctest bubble,
// synctest.Wait returns once every goroutine is blocked: the calls have
// all started then, and Advance either has returned or is waiting.
func TestAdvanceWaitsForOnTimeout(t *testing.T) {
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d entries", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				entered := make(chan struct{}, n)
				release := make(chan struct{})
				var finished atomic.Int32
				table, clock, _ := newTestTable(t, Options[string]{
					OnTimeout: func(Entry[string]) {
						entered <- struct{}{}
						<-release
						finished.Add(1)
					},
				})
				for i := range n {
					mustAdd(t, table, Entry[string]{ID: fmt.Sprint(i)})
				}
				advanced := make(chan struct{})
				go func() {
					defer close(advanced)
					clock.Advance(time.Minute)
				}()
				synctest.Wait()
				if got := len(entered); got != n {
					close(release) // let the calls that did start finish
					t.Fatalf("%d of %d OnTimeout calls started, want all, at once", got, n)
				}
				select {
				case <-advanced:
					t.Fatal("Advance returned while OnTimeout calls were blocked")
				default:
				}
				close(release)
				<-advanced
				if got := finished.Load(); got != int32(n) {
					t.Errorf("Advance returned after %d of %d OnTimeout calls finished", got, n)
				}
			})
		})
	}
}

// TestTimerFiresOnSystemClock is the one test of the real time path: a
// table on the system clock, entries with short lifetimes, and no call to
// Sweep, so every OnTimeout comes from the table's own timer, off the path
// of Add and Resolve, once per entry. It runs in a synctest bubble, where
// the system clock is the bubble's: time passes only when every goroutine
// waits, so each entry times out at its own expiry, in its own sweep.
func TestTimerFiresOnSystemClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type firing struct {
			id      string
			replies int
			at      time.Duration // after the start
		}
		start := time.Now()
		fired := make(chan firing, 10)
		table, err := New(Options[string]{
			TTL: 20 * time.Millisecond,
			OnTimeout: func(e Entry[string]) {
				fired <- firing{e.ID, e.Replies, time.Since(start)}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closeWithin(t, table)

		if err := table.Add(ctx, Entry[string]{ID: "soon", Streaming: true}); err != nil {
			t.Fatal(err)
		}
		// "later" is added after "soon" but expires first: the timer re-arms
		// for it. "last" expires well after both, so its timer is re-armed by
		// a sweep.
		if err := table.Add(ctx, Entry[string]{ID: "later", Expires: start.Add(5 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if err := table.Add(ctx, Entry[string]{ID: "last", Expires: start.Add(100 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		// An hour-long entry must not hold the others up.
		if err := table.Add(ctx, Entry[string]{ID: "hour", Expires: start.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}

		time.Sleep(100*time.Millisecond - 1) // bubble time: the subject; "last" is not due yet
		synctest.Wait()
		if len(fired) != 2 {
			t.Errorf("%d timeouts just before 100ms, want 2 (later and soon)", len(fired))
		}
		time.Sleep(1) // bubble time: "last" is due, and its sweep runs before Wait returns
		synctest.Wait()
		closeWithin(t, table)
		close(fired)
		var got []firing
		for f := range fired {
			got = append(got, f)
		}
		want := []firing{{"later", 0, 5 * time.Millisecond}, {"soon", 0, 20 * time.Millisecond}, {"last", 0, 100 * time.Millisecond}}
		if !slices.Equal(got, want) {
			t.Errorf("OnTimeout calls = %v, want %v: each entry at its expiry", got, want)
		}
		if s := table.Stats(); s.TimedOut != 3 || s.Dropped != 1 {
			t.Errorf("Stats = %+v, want TimedOut 3, Dropped 1", s)
		}
	})
}
