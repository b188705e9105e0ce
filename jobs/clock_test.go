package jobs

import (
	"sync"
	"time"
)

// testEpoch has sub-millisecond nanoseconds so tests see them dropped, and
// milliseconds so tests see them kept.
var testEpoch = time.UnixMilli(1700000000123).Add(456789 * time.Nanosecond)

// stepClock is a deterministic clock: each reading is step later than the one
// before.
type stepClock struct {
	mu   sync.Mutex
	next time.Time
	step time.Duration
}

func newStepClock(start time.Time, step time.Duration) *stepClock {
	return &stepClock{next: start, step: step}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.next
	c.next = c.next.Add(c.step)
	return t
}
