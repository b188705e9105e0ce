package tracking

import (
	"fmt"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	DefaultCapacity = 10000
	DefaultTTL      = 10 * time.Minute
)

// Options configure a [Table]. The zero value is usable.
type Options[V any] struct {
	// Capacity is the most entries the table holds; adding beyond it
	// evicts the least recently used one. Zero means DefaultCapacity;
	// above math.MaxInt32, the table holds math.MaxInt32.
	Capacity int
	// TTL is the lifetime of an entry added without Expires. Zero means
	// DefaultTTL.
	TTL time.Duration
	// OnTimeout, if set, is called exactly once for each entry that
	// expires while still pending, with its final Replies count. The
	// entries of one sweep are handed over concurrently, each in its own
	// goroutine, and the sweep ends when every call has returned (so a
	// ManualClock's Advance returns after them). It never runs inside Add,
	// Resolve or Done. It must not call Close or Shutdown.
	OnTimeout func(Entry[V])
	// OnEvict, if set, is called for each entry pushed out to make room.
	// It runs on the goroutine of the Add that made room, after the table's
	// lock is released.
	OnEvict func(Entry[V])
	// Clock is the time source; nil means SystemClock(). Tests pass a
	// ManualClock and move time with Advance.
	Clock Clock
}

// withDefaults checks o and fills in its zero fields.
func (o Options[V]) withDefaults() (Options[V], error) {
	if o.Capacity < 0 {
		return o, fmt.Errorf("%w: Capacity is %d; use a positive number, or 0 for the default %d", ErrInvalidOptions, o.Capacity, DefaultCapacity)
	}
	if o.TTL < 0 {
		return o, fmt.Errorf("%w: TTL is %v; use a positive duration, or 0 for the default %v", ErrInvalidOptions, o.TTL, DefaultTTL)
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultCapacity
	}
	o.Capacity = min(o.Capacity, maxSlots)
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	return o, nil
}
