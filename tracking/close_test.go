package tracking

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	var timeouts atomic.Int32
	tables := make([]*Table[int], 5)
	for i := range tables {
		table, err := New(Options[int]{
			TTL:           time.Millisecond,
			SweepInterval: time.Millisecond,
			OnTimeout:     func(Entry[int]) { timeouts.Add(1) },
		})
		if err != nil {
			t.Fatal(err)
		}
		tables[i] = table
		for j := range 10 {
			if err := table.Add(Entry[int]{ID: string(rune('a' + j))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := runtime.NumGoroutine(); n < before+len(tables) {
		t.Fatalf("%d goroutines with %d tables open, started from %d: sweepers not running?", n, len(tables), before)
	}
	// Let the sweepers do some work before they are stopped.
	waitFor(t, "a timeout", func() bool { return timeouts.Load() > 0 })
	for _, table := range tables {
		table.Close()
	}
	waitFor(t, "goroutines to return to their starting count", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestCloseDropsPendingSilently(t *testing.T) {
	table, clock, rec := newFakeTable(t, Options[string]{})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "b", Streaming: true})
	table.Close()
	table.Close() // idempotent

	if err := table.Add(Entry[string]{ID: "c"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	for _, id := range []string{"a", "b"} {
		if _, ok := table.Resolve(id); ok {
			t.Errorf("Resolve(%q) after Close succeeded", id)
		}
		if _, ok := table.Done(id); ok {
			t.Errorf("Done(%q) after Close succeeded", id)
		}
	}
	if n := table.Sweep(clock.Advance(time.Hour)); n != 0 {
		t.Errorf("Sweep after Close = %d, want 0", n)
	}
	if got := rec.timedOutIDs(); len(got) != 0 {
		t.Errorf("OnTimeout called for %v after Close", got)
	}
	if got := rec.evictedIDs(); len(got) != 0 {
		t.Errorf("OnEvict called for %v by Close", got)
	}
	if s := table.Stats(); s.Pending != 0 || s.Dropped != 2 || table.Len() != 0 {
		t.Errorf("Stats after Close = %+v, Len %d; want Pending 0, Dropped 2, Len 0", s, table.Len())
	}
	if err := table.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after Close = %v", err)
	}
}

func TestShutdownWaitsForOnTimeout(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	table, clock, _ := newFakeTable(t, Options[string]{
		OnTimeout: func(Entry[string]) {
			close(entered)
			<-release
			finished.Store(true)
		},
	})
	mustAdd(t, table, Entry[string]{ID: "a"})
	go table.Sweep(clock.Advance(time.Hour))
	<-entered

	// The callback is blocked, so a bounded Shutdown must give up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := table.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a callback in flight = %v, want DeadlineExceeded", err)
	}
	if err := table.Add(Entry[string]{ID: "b"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after a timed-out Shutdown = %v, want ErrClosed", err)
	}

	closed := make(chan struct{})
	go func() {
		table.Close()
		close(closed)
	}()
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the callback finished")
	}
	if !finished.Load() {
		t.Error("Close returned before the OnTimeout call in flight finished")
	}
}

// TestSweeperFiresTimeoutOnce uses the real clock and the real sweeper: the
// test never calls Sweep, so any OnTimeout call comes from the sweeper
// goroutine, off the path of Add and Resolve.
func TestSweeperFiresTimeoutOnce(t *testing.T) {
	type firing struct {
		id      string
		replies int
	}
	fired := make(chan firing, 10)
	table, err := New(Options[string]{
		TTL:           20 * time.Millisecond,
		SweepInterval: 5 * time.Millisecond,
		OnTimeout:     func(e Entry[string]) { fired <- firing{e.ID, e.Replies} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()

	if err := table.Add(Entry[string]{ID: "early", Streaming: true}); err != nil {
		t.Fatal(err)
	}
	// "late" expires well after "early", so by the time it fires the
	// sweeper has normally swept many times past "early": a second "early"
	// would show up first. (If the machine stalls and both expire in one
	// sweep, they still fire in expiry order.)
	if err := table.Add(Entry[string]{ID: "late", Expires: time.Now().Add(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}

	var got []firing
	deadline := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case f := <-fired:
			got = append(got, f)
		case <-deadline:
			t.Fatalf("sweeper fired %v within 10s, want early then late", got)
		}
	}
	table.Close() // waits for the sweeper, so nothing more can arrive
	close(fired)
	for f := range fired {
		got = append(got, f)
	}
	want := []firing{{"early", 0}, {"late", 0}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("OnTimeout calls = %v, want %v", got, want)
	}
	if s := table.Stats(); s.TimedOut != 2 {
		t.Errorf("Stats.TimedOut = %d, want 2", s.TimedOut)
	}
}
