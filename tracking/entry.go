package tracking

import "time"

// Entry is one pending continuation.
//
// The table copies an Entry on the way in and out, but not what Value
// points to: it is shared with the caller and must not be modified while
// the entry is pending if other goroutines may read it.
type Entry[V any] struct {
	// ID is the task ID the reply will carry. It must be non-empty and
	// unique among pending entries.
	ID string
	// Value is what the task's owner needs to handle a reply or a timeout,
	// typically a closure. The store never looks inside it.
	Value V
	// Created is when the entry was made; zero means "when added".
	Created time.Time
	// Expires is when the entry times out; zero means Created + Options.TTL.
	Expires time.Time
	// Streaming keeps the entry pending after a reply, until Expires or
	// Done, for tasks that answer with many events.
	Streaming bool
	// Replies counts the replies resolved so far, the current one included.
	// The store maintains it; whatever Add is given is ignored.
	Replies int
}

// expired reports whether e is past its expiry at now. An entry expires at
// the instant Expires, not after it, so Resolve and Sweep agree on the
// boundary.
func (e *Entry[V]) expired(now time.Time) bool {
	return !e.Expires.After(now)
}
