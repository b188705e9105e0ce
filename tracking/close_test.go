package tracking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lcsvc/lcservice/internal/bubble"
)

// A table starts no goroutine of its own, holding entries or sweeping them
// (OnTimeout's goroutines end with the sweep), and Close leaves none behind.
// In a synctest bubble, synctest.Wait returns once every other goroutine of
// the bubble has exited or is blocked for good, so what is left then is
// exactly what the tables left.
func TestTableLeavesNoGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := bubble.Goroutines(t)
		var timeouts atomic.Int32
		clock := newTestClock()
		tables := make([]*Table[int], 5)
		for i := range tables {
			table, err := New(Options[int]{
				TTL:       time.Minute,
				Clock:     clock,
				OnTimeout: func(Entry[int]) { timeouts.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			tables[i] = table
			for j := range 10 {
				// Half expire at 30s, the rest at the 1m TTL.
				e := Entry[int]{ID: fmt.Sprint(j)}
				if j%2 == 0 {
					e.Expires = testStart.Add(30 * time.Second)
				}
				if err := table.Add(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		clock.Advance(30 * time.Second) // several entries per sweep: concurrent OnTimeout
		if got := timeouts.Load(); got != 25 {
			t.Fatalf("%d timeouts after 30s, want 25", got)
		}
		synctest.Wait()
		if left := bubble.StartedSince(t, before); len(left) > 0 {
			t.Fatalf("%d goroutines with tables open and nothing due:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		for _, table := range tables {
			if err := table.Close(); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if left := bubble.StartedSince(t, before); len(left) > 0 {
			t.Fatalf("%d goroutines after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		if n := pendingTimers(clock); n != 0 {
			t.Errorf("%d timers scheduled after every table closed, want 0", n)
		}
	})
}

func TestCloseDropsPendingSilently(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "b", Streaming: true})
	if err := table.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := table.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}

	if err := table.Add(ctx, Entry[string]{ID: "c"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	for _, id := range []string{"a", "b"} {
		if _, ok := resolve(t, table, id); ok {
			t.Errorf("Resolve(%q) after Close succeeded", id)
		}
		if _, ok := done(t, table, id); ok {
			t.Errorf("Done(%q) after Close succeeded", id)
		}
	}
	clock.Advance(time.Hour)
	if n := table.Sweep(clock.Now()); n != 0 {
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
	if err := table.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown after Close = %v", err)
	}
}

// Close stops the table's timer: nothing is left scheduled on the clock,
// and moving it past every expiry fires nothing.
func TestCloseStopsTimer(t *testing.T) {
	var calls atomic.Int32
	table, clock, _ := newTestTable(t, Options[string]{
		OnTimeout: func(Entry[string]) { calls.Add(1) },
	})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "b", Expires: testStart.Add(time.Second)})
	if n := pendingTimers(clock); n != 1 {
		t.Fatalf("%d timers scheduled with entries pending, want 1", n)
	}
	if err := table.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("%d timers still scheduled after Close, want 0", n)
	}
	clock.Advance(time.Hour)
	if n := calls.Load(); n != 0 {
		t.Errorf("OnTimeout called %d times after Close", n)
	}
	if s := table.Stats(); s.TimedOut != 0 || s.Dropped != 2 {
		t.Errorf("Stats = %+v, want TimedOut 0, Dropped 2", s)
	}
}

// Shutdown waits for the OnTimeout calls in flight, up to its context's
// end. In a synctest bubble, where the bounded Shutdown's 20ms pass only
// once everything else waits.
func TestShutdownWaitsForOnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered := make(chan struct{})
		release := make(chan struct{})
		var finished atomic.Bool
		table, clock, _ := newTestTable(t, Options[string]{
			OnTimeout: func(Entry[string]) {
				close(entered)
				<-release
				finished.Store(true)
			},
		})
		mustAdd(t, table, Entry[string]{ID: "a"})
		advanced := make(chan struct{})
		go func() {
			defer close(advanced)
			clock.Advance(time.Hour)
		}()
		<-entered

		// The callback is blocked, so a bounded Shutdown must give up.
		bounded, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if err := table.Shutdown(bounded); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a callback in flight = %v, want DeadlineExceeded", err)
		}
		if err := table.Add(ctx, Entry[string]{ID: "b"}); !errors.Is(err, ErrClosed) {
			t.Errorf("Add after a timed-out Shutdown = %v, want ErrClosed", err)
		}

		closed := make(chan error, 1)
		go func() { closed <- table.Close() }()
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close = %v while the OnTimeout call in flight was blocked, want it to wait", err)
		default:
		}
		close(release)
		if err := <-closed; err != nil {
			t.Errorf("Close = %v", err)
		}
		if !finished.Load() {
			t.Error("Close returned before the OnTimeout call in flight finished")
		}
		<-advanced
	})
}
