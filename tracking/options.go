package tracking

import (
	"fmt"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	DefaultCapacity = 10000
	DefaultTTL      = 10 * time.Minute

	// The default sweep interval is TTL/10, kept within these bounds: often
	// enough that timeouts are prompt, rarely enough that an idle table costs
	// nothing.
	MinDefaultSweepInterval = 50 * time.Millisecond
	MaxDefaultSweepInterval = 5 * time.Second
)

// Options configure a [Table]. The zero value is usable.
type Options[V any] struct {
	// Capacity is the most entries the table holds; adding beyond it
	// evicts the least recently used one. Zero means DefaultCapacity.
	Capacity int
	// TTL is the lifetime of an entry added without Expires. Zero means
	// DefaultTTL.
	TTL time.Duration
	// SweepInterval is the longest the sweeper waits between looks for
	// expired entries; it also wakes when the earliest entry is due.
	// Zero means TTL/10, clamped to [MinDefaultSweepInterval,
	// MaxDefaultSweepInterval]; an explicit value is used as given.
	SweepInterval time.Duration
	// OnTimeout, if set, is called exactly once for each entry that
	// expires while still pending, with its final Replies count. It runs on
	// the sweeper goroutine (or the goroutine calling Sweep), never inside
	// Add, Resolve or Done. It must not call Close or Shutdown.
	OnTimeout func(Entry[V])
	// OnEvict, if set, is called for each entry pushed out to make room.
	// It runs on the goroutine of the Add that made room, after the table's
	// lock is released.
	OnEvict func(Entry[V])
	// Now is the clock; nil means time.Now. Tests set it to a fake clock.
	Now func() time.Time
}

// withDefaults checks o and fills in its zero fields.
func (o Options[V]) withDefaults() (Options[V], error) {
	if o.Capacity < 0 {
		return o, fmt.Errorf("%w: Capacity is %d; use a positive number, or 0 for the default %d", ErrInvalidOptions, o.Capacity, DefaultCapacity)
	}
	if o.TTL < 0 {
		return o, fmt.Errorf("%w: TTL is %v; use a positive duration, or 0 for the default %v", ErrInvalidOptions, o.TTL, DefaultTTL)
	}
	if o.SweepInterval < 0 {
		return o, fmt.Errorf("%w: SweepInterval is %v; use a positive duration, or 0 for the default", ErrInvalidOptions, o.SweepInterval)
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultCapacity
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = min(max(o.TTL/10, MinDefaultSweepInterval), MaxDefaultSweepInterval)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
