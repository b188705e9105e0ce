package tracking

import (
	"fmt"
	"testing"
	"time"
)

func TestSweepExpiresInOrder(t *testing.T) {
	table, clock, rec := newFakeTable(t, Options[string]{TTL: time.Minute})
	start := clock.Now()
	// Added out of expiry order; "c1" and "c2" tie and keep insertion order.
	for _, e := range []struct {
		id  string
		ttl time.Duration
	}{
		{"c1", 3 * time.Second}, {"a", time.Second}, {"d", 4 * time.Second},
		{"c2", 3 * time.Second}, {"b", 2 * time.Second},
	} {
		mustAdd(t, table, Entry[string]{ID: e.id, Expires: start.Add(e.ttl)})
	}
	steps := []struct {
		at        time.Duration
		wantCount int
		wantIDs   []string // all timed out so far
	}{
		{0, 0, nil},
		{time.Second - 1, 0, nil},
		{time.Second, 1, []string{"a"}},
		{time.Second, 0, []string{"a"}},
		{3 * time.Second, 3, []string{"a", "b", "c1", "c2"}},
		{time.Hour, 1, []string{"a", "b", "c1", "c2", "d"}},
		{2 * time.Hour, 0, []string{"a", "b", "c1", "c2", "d"}},
	}
	for _, s := range steps {
		if n := table.Sweep(start.Add(s.at)); n != s.wantCount {
			t.Errorf("Sweep(+%v) = %d, want %d", s.at, n, s.wantCount)
		}
		if got := rec.timedOutIDs(); !equalStrings(got, s.wantIDs) {
			t.Errorf("after Sweep(+%v): timed out %v, want %v", s.at, got, s.wantIDs)
		}
	}
	if table.Len() != 0 {
		t.Errorf("Len = %d after everything expired, want 0", table.Len())
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
			table, clock, rec := newFakeTable(t, Options[string]{TTL: time.Minute})
			mustAdd(t, table, Entry[string]{ID: "s", Streaming: true})
			for range tt.replies {
				if _, ok := table.Resolve("s"); !ok {
					t.Fatal("Resolve of pending streaming entry failed")
				}
			}
			if n := table.Sweep(clock.Advance(time.Minute)); n != 1 {
				t.Fatalf("Sweep = %d, want 1", n)
			}
			table.Sweep(clock.Advance(time.Hour))
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
// would hold on to every resolved entry until its TTL.
func TestRemovedEntriesLeaveExpiryQueue(t *testing.T) {
	table, clock, _ := newFakeTable(t, Options[string]{Capacity: 10})
	for i := range 100 {
		id := fmt.Sprint(i)
		mustAdd(t, table, Entry[string]{ID: id, Streaming: i%2 == 0, Expires: clock.Now().Add(time.Duration(100-i) * time.Second)})
		switch i % 4 {
		case 0:
			table.Done(id)
		case 1:
			table.Resolve(id)
		}
	}
	table.mu.Lock()
	lruLen, queueLen := table.pending.Len(), len(table.expiry)
	for i, it := range table.expiry {
		if it.index != i {
			t.Errorf("expiry[%d].index = %d", i, it.index)
		}
		if _, ok := table.pending.Peek(it.entry.ID); !ok {
			t.Errorf("expiry queue holds %q, which is not pending", it.entry.ID)
		}
	}
	table.mu.Unlock()
	if lruLen != 10 || queueLen != 10 {
		t.Errorf("LRU holds %d, expiry queue %d; want 10 and 10", lruLen, queueLen)
	}
}

func TestOnTimeoutMayCallTable(t *testing.T) {
	var table *Table[string]
	calledBack := make(chan error, 1)
	table, clock, _ := newFakeTable(t, Options[string]{
		OnTimeout: func(e Entry[string]) {
			table.Len()
			table.Stats()
			table.Resolve("other")
			calledBack <- table.Add(Entry[string]{ID: e.ID + "-retry"})
		},
	})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "other", Expires: clock.Now().Add(time.Hour)})

	swept := make(chan int, 1)
	go func() { swept <- table.Sweep(clock.Advance(time.Minute)) }()
	select {
	case n := <-swept:
		if n != 1 {
			t.Errorf("Sweep = %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sweep deadlocked with an OnTimeout that calls into the table")
	}
	if err := <-calledBack; err != nil {
		t.Errorf("Add from OnTimeout: %v", err)
	}
	if _, ok := table.Done("a-retry"); !ok {
		t.Error("entry added from OnTimeout is not pending")
	}
}

// A per-entry TTL far shorter than the sweep interval still fires on time:
// the sweeper wakes for the earliest expiry.
func TestSweeperWakesForEarliestExpiry(t *testing.T) {
	fired := make(chan string, 1)
	tbl, err := New(Options[int]{
		TTL:           time.Hour,
		SweepInterval: time.Hour,
		OnTimeout:     func(e Entry[int]) { fired <- e.ID },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if err := tbl.Add(Entry[int]{ID: "late", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Add(Entry[int]{ID: "soon", Expires: time.Now().Add(20 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-fired:
		if id != "soon" {
			t.Errorf("fired %q", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the short entry did not time out before the hour-long sweep interval")
	}
}
