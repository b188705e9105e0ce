package tracking

import "errors"

// Errors returned by [Table.Add] and [New]. Add wraps them with the offending
// ID, so test with errors.Is.
var (
	// ErrEmptyID means an entry had no task ID.
	ErrEmptyID = errors.New("tracking: entry has an empty ID; give every entry a unique task ID (e.g. uuid.NewString())")
	// ErrDuplicateID means an entry with the same ID is already pending.
	ErrDuplicateID = errors.New("tracking: an entry with this ID is already pending; task IDs must be unique, generate a fresh one")
	// ErrClosed means the table has been closed.
	ErrClosed = errors.New("tracking: table is closed; create a new Table with New")
	// ErrInvalidOptions means Options held a value New cannot use.
	ErrInvalidOptions = errors.New("tracking: invalid options")
)
