package tracking

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// calls records the names of the functions a clock has run, in order.
type calls struct {
	mu    sync.Mutex
	names []string
}

func (c *calls) fn(name string) func() {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.names = append(c.names, name)
	}
}

// take returns the names recorded since the last take.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := c.names
	c.names = nil
	return names
}

func TestManualClockNowAndAdvance(t *testing.T) {
	clock := newTestClock()
	if got := clock.Now(); !got.Equal(testStart) {
		t.Fatalf("Now = %v, want the start %v", got, testStart)
	}
	if got := clock.Advance(90 * time.Second); !got.Equal(testStart.Add(90 * time.Second)) {
		t.Errorf("Advance(90s) = %v, want start+90s", got)
	}
	if got := clock.Now(); !got.Equal(testStart.Add(90 * time.Second)) {
		t.Errorf("Now after Advance(90s) = %v, want start+90s", got)
	}
}

func TestManualClockRunsDueFunctionsInOrder(t *testing.T) {
	clock := newTestClock()
	var got calls
	// By due time, then by scheduling order.
	clock.AfterFunc(3*time.Second, got.fn("A@3s"))
	clock.AfterFunc(time.Second, got.fn("B@1s"))
	clock.AfterFunc(2*time.Second, got.fn("C@2s"))
	clock.AfterFunc(time.Second, got.fn("D@1s"))
	clock.AfterFunc(0, got.fn("E@0"))
	clock.AfterFunc(-time.Second, got.fn("F@-1s"))
	clock.AfterFunc(2*time.Second, got.fn("G@2s"))

	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{0, []string{"F@-1s", "E@0"}},                       // already due: the next Advance runs them
		{time.Second - 1, nil},                              // nothing due yet
		{1, []string{"B@1s", "D@1s"}},                       // due at the same instant: scheduling order
		{5 * time.Second, []string{"C@2s", "G@2s", "A@3s"}}, // one Advance past several: earliest first
		{time.Hour, nil},                                    // each runs once
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if names := got.take(); !slices.Equal(names, s.want) {
			t.Errorf("step %d, Advance(%v) ran %v, want %v", i, s.advance, names, s.want)
		}
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("%d functions still scheduled after all ran", n)
	}
}

func TestManualClockStop(t *testing.T) {
	clock := newTestClock()
	var got calls
	stopEarly := clock.AfterFunc(time.Second, got.fn("stopped"))
	stopLate := clock.AfterFunc(time.Second, got.fn("fired"))

	if !stopEarly() {
		t.Error("stop before the function is due = false, want true")
	}
	if stopEarly() {
		t.Error("a second stop = true, want false: there is nothing left to stop")
	}
	clock.Advance(time.Hour)
	if names := got.take(); !slices.Equal(names, []string{"fired"}) {
		t.Errorf("Advance ran %v, want only [fired]", names)
	}
	if stopLate() {
		t.Error("stop after the function ran = true, want false")
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("%d functions still scheduled", n)
	}
}

func TestManualClockRunsFunctionsScheduledByFunctions(t *testing.T) {
	clock := newTestClock()
	var got calls
	var stopDropped func() bool
	clock.AfterFunc(time.Second, func() {
		got.fn("outer")()
		clock.AfterFunc(0, got.fn("inner-now"))
		clock.AfterFunc(time.Second, got.fn("inner-later"))
		stopDropped = clock.AfterFunc(0, got.fn("inner-stopped"))
		if !stopDropped() {
			t.Error("stop of a function scheduled and stopped within a callback = false")
		}
	})

	clock.Advance(time.Second)
	if names := got.take(); !slices.Equal(names, []string{"outer", "inner-now"}) {
		t.Errorf("first Advance ran %v, want [outer inner-now]: a function a callback schedules runs in the same Advance if it is due", names)
	}
	clock.Advance(time.Second - 1)
	if names := got.take(); len(names) != 0 {
		t.Errorf("Advance short of inner-later ran %v", names)
	}
	clock.Advance(1)
	if names := got.take(); !slices.Equal(names, []string{"inner-later"}) {
		t.Errorf("Advance to inner-later ran %v, want [inner-later]", names)
	}
}

func TestManualClockNegativeAdvance(t *testing.T) {
	clock := newTestClock()
	var got calls
	clock.AfterFunc(0, got.fn("due"))
	clock.AfterFunc(time.Nanosecond, got.fn("future"))

	if now := clock.Advance(-time.Hour); !now.Equal(testStart) {
		t.Errorf("Advance(-1h) = %v, want the unchanged %v", now, testStart)
	}
	if now := clock.Now(); !now.Equal(testStart) {
		t.Errorf("Now after Advance(-1h) = %v, want the unchanged %v", now, testStart)
	}
	// A negative Advance is an Advance(0): what is already due runs,
	// nothing else.
	if names := got.take(); !slices.Equal(names, []string{"due"}) {
		t.Errorf("Advance(-1h) ran %v, want [due]", names)
	}
	clock.Advance(time.Nanosecond)
	if names := got.take(); !slices.Equal(names, []string{"future"}) {
		t.Errorf("Advance(1ns) ran %v, want [future]", names)
	}
}

// TestManualClockConcurrentUse schedules and stops from several goroutines
// while another advances the clock; run with -race.
func TestManualClockConcurrentUse(t *testing.T) {
	const (
		workers = 4
		each    = 200
	)
	clock := newTestClock()
	var ran, stopped [workers][each]bool // each written once, by one goroutine
	var mu sync.Mutex                    // guards ran
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				stop := clock.AfterFunc(time.Duration(i%5)*time.Millisecond, func() {
					mu.Lock()
					ran[w][i] = true
					mu.Unlock()
				})
				if i%2 == 0 {
					stopped[w][i] = stop()
				}
				clock.Now()
			}
		})
	}
	advancing := make(chan struct{})
	go func() {
		defer close(advancing)
		for range 50 {
			clock.Advance(time.Millisecond)
		}
	}()
	wg.Wait()
	<-advancing
	clock.Advance(time.Hour)

	mu.Lock()
	defer mu.Unlock()
	for w := range workers {
		for i := range each {
			// Exactly one of: it ran, or a stop prevented it.
			if ran[w][i] == stopped[w][i] {
				t.Errorf("function %d/%d: ran %v, stopped %v; want exactly one", w, i, ran[w][i], stopped[w][i])
			}
		}
	}
	if n := pendingTimers(clock); n != 0 {
		t.Errorf("%d functions still scheduled", n)
	}
}

// SystemClock is time.Now and time.AfterFunc; in a synctest bubble they
// are the bubble's, where time passes only when every goroutine waits.
func TestSystemClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := SystemClock()
		start := time.Now()
		if now := clock.Now(); !now.Equal(start) {
			t.Errorf("SystemClock().Now() = %v, time.Now() %v", now, start)
		}

		stop := clock.AfterFunc(time.Hour, func() { t.Error("a stopped function ran") })
		if !stop() {
			t.Error("stop before due = false, want true")
		}

		fired := make(chan time.Duration, 1)
		stop = clock.AfterFunc(time.Minute, func() { fired <- time.Since(start) })
		time.Sleep(time.Minute - 1) // bubble time: the subject
		synctest.Wait()
		if len(fired) != 0 {
			t.Fatal("AfterFunc(1m) ran before a minute passed")
		}
		if at := <-fired; at != time.Minute {
			t.Errorf("AfterFunc(1m) ran %v after, want 1m", at)
		}
		if stop() {
			t.Error("stop after the function ran = true, want false")
		}
		time.Sleep(2 * time.Hour) // bubble time: the stopped function's passes too, and it must not run
	})
}
