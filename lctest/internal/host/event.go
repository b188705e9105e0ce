package host

// Event is one event a sensor emits: its type and body, and optionally
// its atoms. The cloud adds the rest of the routing.
type Event struct {
	Type    string         // event_type, e.g. "OS_PACKAGES_REP"
	Payload map[string]any // the event body
	// This and Parent are the event's atoms (routing this and parent), 32
	// hex digits: set on the events a host keeps in its history, empty
	// elsewhere.
	This, Parent string
}

// Receipt returns a RECEIPT event: the answer a sensor gives to a command
// that failed or that has no other reply. Codes 0 and 200 mean success.
func Receipt(code int, msg string) Event {
	return Event{Type: "RECEIPT", Payload: map[string]any{"ERROR": code, "ERROR_MESSAGE": msg}}
}

// Error codes of the RECEIPTs the built-in answers send, as LimaCharlie's
// error codes reference lists them.
const (
	ErrInvalidFunction  = 1  // ERROR_INVALID_FUNCTION: an unknown command
	ErrFileNotFound     = 2  // ERROR_FILE_NOT_FOUND
	ErrInvalidParameter = 87 // ERROR_INVALID_PARAMETER: unusable arguments
	// ErrNoSuchProcess is what a POSIX sensor reports for a process id
	// that names no process (ESRCH); Windows reports ErrInvalidParameter.
	ErrNoSuchProcess = 3
)
