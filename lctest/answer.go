package lctest

import (
	"fmt"
	"strings"

	"github.com/lcsvc/lcservice/lctest/internal/host"
)

// Responder answers one command sent to a sensor with the events the
// sensor emits, after its CLOUD_NOTIFICATION. Returning no event
// simulates a sensor that never answers. A Responder runs on its own
// goroutine and may be called concurrently for different tasks.
type Responder func(s *Sensor, cmd Command) []Event

// Command is one task command line as a sensor receives it.
type Command struct {
	Name string   // the first word, e.g. "os_processes"
	Args []string // the remaining words, quotes removed
	Line string   // the command line as sent
}

// ParseCommand splits a command line like a shell does, as sensors do:
// words are separated by white space, single or double quotes group a
// word (and may make an empty one), and a backslash escapes only a quote
// character — any other backslash is kept, so Windows paths need no
// doubling. An empty line or an unterminated quote is an error.
func ParseCommand(line string) (Command, error) {
	cmd, err := host.ParseCommand(line)
	return Command(cmd), err
}

// Event is what a Responder returns: an event type and its body. The
// cloud adds the routing (sensor, time, ids, investigation_id).
type Event struct {
	Type    string         // event_type, e.g. "OS_PACKAGES_REP"
	Payload map[string]any // the event body; must encode as JSON
	// This and Parent are the event's atoms, routing this and parent (32
	// hex digits). Empty This gets a fresh atom; empty Parent none.
	This, Parent string
}

// Receipt returns a RECEIPT event, the answer a sensor gives to a command
// that failed or that has no other reply. code 0 or 200 means success.
func Receipt(code int, msg string) Event { return Event(host.Receipt(code, msg)) }

// BuiltinCommands lists the commands a fake sensor answers by itself,
// sorted.
func BuiltinCommands() []string { return host.Commands() }

// BuiltinAnswer returns the events a fake sensor answers cmd with when no
// Responder overrides it: the command's reply events (OS_PACKAGES_REP for
// os_packages, …) in the sensor's Dialect, or a RECEIPT with a non-zero
// ERROR for an unknown command or arguments the sensor would refuse
// (ERROR_INVALID_PARAMETER, 87). A Responder can call it to alter or
// extend the built-in answer.
func BuiltinAnswer(s *Sensor, cmd Command) []Event {
	events := s.host.Answer(host.Command(cmd))
	out := make([]Event, len(events))
	for i, e := range events {
		out[i] = Event(e)
	}
	return out
}

// answer returns the events answering cmd: the override if there is one,
// else the built-in answer. A panicking Responder answers a RECEIPT error
// rather than taking the test binary down.
func answer(s *Sensor, cmd Command) (events []Event) {
	r := s.responder(cmd.Name)
	if r == nil {
		return BuiltinAnswer(s, cmd)
	}
	defer func() {
		if v := recover(); v != nil {
			events = []Event{Receipt(500, fmt.Sprintf("lctest: the Responder for %q panicked: %v", cmd.Name, v))}
		}
	}()
	return r(s, cmd)
}

// answerLine returns what a sensor sends for one command line: the
// CLOUD_NOTIFICATION receipt, then its answer, or a RECEIPT refusing a
// line it cannot parse.
func answerLine(s *Sensor, line, investigationID string) []Event {
	cmd, err := ParseCommand(line)
	name := cmd.Name
	if f := strings.Fields(line); name == "" && len(f) > 0 {
		name = f[0]
	}
	events := []Event{Event(host.Notification(name, investigationID, s.ident()))}
	if err != nil {
		return append(events, Receipt(host.ErrInvalidParameter, err.Error()))
	}
	return append(events, answer(s, cmd)...)
}
