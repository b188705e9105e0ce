package tracking

import (
	"slices"
	"sync"
	"time"
)

// Clock is the time source of a Table: what time it is, and a way to be
// called back when an entry is due. Production code uses SystemClock; tests
// use a ManualClock and move time forward themselves.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f, in a goroutine of the clock's choosing, once d has
	// passed, unless stop is called first. stop reports whether it
	// prevented the call.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock returns the real clock: time.Now and time.AfterFunc.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// ManualClock is a Clock that moves only when told to, for tests that drive
// timeouts instead of sleeping through them. Its zero value is not usable;
// create one with NewManualClock. It is safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*manualTimer
}

type manualTimer struct {
	at  time.Time
	seq uint64 // scheduling order, to break ties between equal times
	f   func()
}

// NewManualClock returns a clock standing still at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f for d after the clock's current time. f runs
// during the Advance that reaches that time (d ≤ 0: the next Advance).
func (c *ManualClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		return true
	}
}

// Advance moves the clock forward by d (a negative d is treated as 0) and
// runs every scheduled function that is then due, earliest first, on the
// calling goroutine. Functions they schedule run too if they are due. It
// returns when all of them have returned, so whatever a due timeout does
// has been done. It returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.now = c.now.Add(max(d, 0))
	now := c.now
	c.mu.Unlock()
	for {
		f := c.popDue(now)
		if f == nil {
			return now
		}
		f()
	}
}

// popDue removes and returns the earliest function due at now, or nil.
func (c *ManualClock) popDue(now time.Time) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	best := -1
	for i, t := range c.timers {
		if t.at.After(now) {
			continue
		}
		if best < 0 || t.at.Before(c.timers[best].at) || (t.at.Equal(c.timers[best].at) && t.seq < c.timers[best].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	f := c.timers[best].f
	c.timers = slices.Delete(c.timers, best, best+1)
	return f
}
