package tracking

import "context"

// Store holds pending continuations: the tasks sent and not yet answered or
// timed out. Table is the in-memory implementation; Redis is a shared store,
// which lets several processes of one service resolve each other's tasks.
//
// Every entry added leaves the store exactly once: resolved (a single-reply
// entry), finished with Done, timed out (reported to the OnTimeout callback
// the store was created with), evicted for space, or dropped by Close (a
// store private to the process; a shared one leaves its entries to the
// other processes).
// Methods take a context because a shared store makes a network call; an
// error means the store could not answer (the entry is untouched), not
// that the entry is missing.
type Store[V any] interface {
	// Add stores e until it is resolved, finished, expires or is evicted.
	Add(ctx context.Context, e Entry[V]) error
	// Resolve returns the pending entry id for a reply, with Replies
	// counting this reply, and removes it unless it is streaming. ok is
	// false when no such entry is pending.
	Resolve(ctx context.Context, id string) (e Entry[V], ok bool, err error)
	// Done removes the pending entry id so that no timeout fires for it.
	// ok is false when no such entry is pending.
	Done(ctx context.Context, id string) (e Entry[V], ok bool, err error)
	// Stats returns a snapshot of the store's counters (for a shared store,
	// this process's, except Pending).
	Stats() Stats
	// Close releases the store's resources. A store private to the process
	// drops every pending entry without callbacks; a shared store leaves
	// them to the other processes.
	Close() error
}

var (
	_ Store[int] = (*Table[int])(nil)
	_ Store[int] = (*Redis[int])(nil)
)
