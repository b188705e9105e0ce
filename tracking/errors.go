package tracking

import "errors"

// Errors returned by the stores and their constructors. They come wrapped
// (with the offending ID, or the Redis error), so test with errors.Is.
var (
	// ErrEmptyID means an entry had no task ID.
	ErrEmptyID = errors.New("tracking: entry has an empty ID; give every entry a unique task ID (e.g. uuid.NewString())")
	// ErrDuplicateID means an entry with the same ID is already pending.
	ErrDuplicateID = errors.New("tracking: an entry with this ID is already pending; task IDs must be unique, generate a fresh one")
	// ErrClosed means the table has been closed.
	ErrClosed = errors.New("tracking: table is closed; create a new Table with New")
	// ErrInvalidOptions means Options held a value New cannot use.
	ErrInvalidOptions = errors.New("tracking: invalid options")
	// ErrUnavailable means a shared store could not reach its backend (a
	// Redis error, or no answer within the call timeout). The entry is in an
	// unknown state only for a call that timed out; the caller should answer
	// "retry later" rather than treat the entry as missing.
	ErrUnavailable = errors.New("tracking: the shared store is unavailable")
)
