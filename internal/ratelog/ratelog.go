// Package ratelog rate-limits repeated log lines. A Gate lets the first
// occurrence through, then at most one per interval, and tells each line
// it lets through how many were held back since the previous one, so a
// flood of refused requests costs a few lines with counts instead of one
// line per request.
package ratelog

import (
	"sync"
	"time"
)

// DefaultInterval is the interval of a zero Gate.
const DefaultInterval = 10 * time.Second

// Gate rate-limits one kind of log line. The zero value lets one line
// through per DefaultInterval. It is safe for concurrent use.
type Gate struct {
	// Interval is the least time between two lines; zero means
	// DefaultInterval. Set it before first use.
	Interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int64
}

// Allow reports whether a line may be logged at now and, if so, how many
// lines were held back since the last one allowed.
func (g *Gate) Allow(now time.Time) (ok bool, suppressed int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.next) {
		g.suppressed++
		return false, 0
	}
	every := g.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	g.next = now.Add(every)
	suppressed, g.suppressed = g.suppressed, 0
	return true, suppressed
}
