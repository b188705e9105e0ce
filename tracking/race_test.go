package tracking

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestResolveRacesTimeout pits a reply against the timeout of the same
// entry, many times over: exactly one of them must get it.
func TestResolveRacesTimeout(t *testing.T) {
	const rounds = 1000
	timeouts := make([]atomic.Int32, rounds)
	clock := newTestClock()
	table, err := New(Options[int]{
		Clock:     clock,
		OnTimeout: func(e Entry[int]) { timeouts[e.Value].Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, table)

	var resolvedWins, timeoutWins int
	for round := range rounds {
		id := strconv.Itoa(round)
		if err := table.Add(ctx, Entry[int]{ID: id, Value: round, Expires: clock.Now().Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		var resolved atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			if _, ok := resolve(t, table, id); ok {
				resolved.Add(1)
			}
		})
		wg.Go(func() {
			<-start
			clock.Advance(time.Second) // fires the table's timer, which sweeps
		})
		// Every few rounds a direct Sweep joins the race too.
		if round%4 == 0 {
			wg.Go(func() {
				<-start
				table.Sweep(clock.Now())
			})
		}
		close(start)
		wg.Wait()

		r, to := resolved.Load(), timeouts[round].Load()
		if r+to != 1 {
			t.Fatalf("round %d: resolved %d times and timed out %d times; want exactly one in total", round, r, to)
		}
		if r == 1 {
			resolvedWins++
		} else {
			timeoutWins++
		}
	}
	t.Logf("resolve won %d rounds, timeout won %d", resolvedWins, timeoutWins)
	if table.Len() != 0 {
		t.Errorf("Len = %d after every round finished, want 0", table.Len())
	}
}

// TestExactlyOnceUnderContention hammers a small table from many goroutines
// at once (adds that evict, replies, Done, sweeps, a moving clock firing the
// table's timer) and checks that every entry reached exactly one of Resolve
// (single), Done, OnTimeout or OnEvict.
func TestExactlyOnceUnderContention(t *testing.T) {
	const (
		entries  = 3000
		capacity = 300 // small, so adds evict while others resolve
		workers  = 4   // goroutines per role
	)
	ids := make([]string, entries)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	delivered := make([]atomic.Int32, entries)
	deliver := func(e Entry[int]) { delivered[e.Value].Add(1) }
	clock := newTestClock()
	table, err := New(Options[int]{
		Capacity:  capacity,
		TTL:       5 * time.Microsecond, // entries live a few clock steps
		Clock:     clock,
		OnTimeout: deliver,
		OnEvict:   deliver,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, table)

	var busy, sweepers sync.WaitGroup
	var addsLeft atomic.Int32
	addsLeft.Store(workers)
	for w := range workers {
		busy.Go(func() { // adder
			defer addsLeft.Add(-1)
			for i := w; i < entries; i += workers {
				if err := table.Add(ctx, Entry[int]{ID: ids[i], Value: i, Streaming: i%3 == 0}); err != nil {
					t.Errorf("Add(%s): %v", ids[i], err)
				}
			}
		})
		busy.Go(func() { // replier: passes over all ids until the adds are done
			for pass := 0; pass < 2 || addsLeft.Load() > 0; pass++ {
				for i := range entries {
					id := ids[(i*7+w*entries/workers)%entries]
					if e, ok := resolve(t, table, id); ok && !e.Streaming {
						deliver(e)
					}
				}
			}
		})
		busy.Go(func() { // finisher of streaming entries
			for pass := 0; pass < 2 || addsLeft.Load() > 0; pass++ {
				for k := range entries / 3 {
					i := 3 * ((k + w*entries/3/workers) % (entries / 3))
					if e, ok := done(t, table, ids[i]); ok {
						deliver(e)
					}
				}
			}
		})
	}
	stop := make(chan struct{})
	for range 2 {
		sweepers.Go(func() { // direct sweeps, racing the timer's
			for {
				select {
				case <-stop:
					return
				default:
					table.Sweep(clock.Now())
				}
			}
		})
	}
	sweepers.Go(func() { // the clock moves on until the adds are done
		for addsLeft.Load() > 0 {
			clock.Advance(time.Microsecond)
			runtime.Gosched()
		}
	})

	busy.Wait()
	close(stop)
	sweepers.Wait()
	clock.Advance(time.Hour) // whatever is left times out

	for i := range delivered {
		if n := delivered[i].Load(); n != 1 {
			t.Errorf("entry %d delivered %d times, want exactly 1", i, n)
		}
	}
	s := table.Stats()
	if s.Pending != 0 || s.Added != entries {
		t.Errorf("Stats = %+v, want Pending 0, Added %d", s, entries)
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("%d timers scheduled on an empty table, want 0", n)
	}
	t.Logf("stats: %+v", s)
}
