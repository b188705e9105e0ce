package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

// Call is a kind of API call the fault hook can fail.
type Call string

// The kinds of call.
const (
	CallTask       Call = "task"        // POST /v1/{sid}
	CallRuleList   Call = "rule.list"   // GET of a hive or of the legacy rules
	CallRuleGet    Call = "rule.get"    // GET of one hive record
	CallRulePut    Call = "rule.put"    // POST of a hive record or a legacy rule
	CallRuleDelete Call = "rule.delete" // DELETE of a hive record or a legacy rule
)

// Fault is what the API does to a call instead of, or before, serving it.
type Fault struct {
	// Status, when not 0, answers the call with this status and an error
	// body without serving it.
	Status int
	// Header is added to the answer, e.g. X-RateLimit-Period with a 429.
	Header http.Header
	// Delay holds the call this long first; the wait ends early if the
	// client gives up, and then nothing is served.
	Delay time.Duration
	// Drop closes the connection without an answer (after Delay); the call
	// is not served.
	Drop bool
}

// Faulted is a call the fault hook acted on.
type Faulted struct {
	Call   Call
	OID    string // the caller's organization
	SID    string // the sensor of a task call
	Method string
	Path   string
	Fault  Fault
}

// Faults holds the faults waiting for the next calls of each kind. Its
// methods are safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	queue map[Call][]Fault
}

// NewFaults returns an empty fault hook.
func NewFaults() *Faults { return &Faults{queue: map[Call][]Fault{}} }

// Add queues f for the next n calls of kind call, after the faults
// already queued for it. n <= 0 forgets every fault queued for call.
func (f *Faults) Add(call Call, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 {
		delete(f.queue, call)
		return
	}
	fault.Header = fault.Header.Clone()
	for range n {
		f.queue[call] = append(f.queue[call], fault)
	}
}

// take removes and returns the next fault for call, if any.
func (f *Faults) take(call Call) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queue[call]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.queue[call] = q[1:]
	return q[0], true
}

// fault applies the next fault queued for call to the request, and
// reports whether it answered it (or dropped it), so that the call must
// not be served.
func (s *server) fault(call Call, w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.faults.take(call)
	if !ok {
		return false
	}
	s.b.Faulted(Faulted{Call: call, OID: callerOrg(r), SID: mux.Vars(r)["sid"], Method: r.Method, Path: r.URL.Path, Fault: f})
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Drop {
		panic(http.ErrAbortHandler) // the server closes the connection, unanswered
	}
	if f.Status == 0 {
		return false
	}
	for k, vs := range f.Header {
		w.Header()[k] = vs
	}
	writeError(w, f.Status, fmt.Sprintf("injected fault: HTTP %d %s", f.Status, http.StatusText(f.Status)))
	return true
}
