package lctest

import (
	"encoding/json"
	"slices"
	"time"
)

// ActivityKind tells what an Activity reports.
type ActivityKind int

const (
	// ActivityTask is a task call the API accepted; Task is the call.
	ActivityTask ActivityKind = iota + 1
	// ActivityTaskRefused is a task call the API refused (offline sensor
	// in OfflineError mode) or ignored (repeated idempotency key); Task is
	// the call and Err says which.
	ActivityTaskRefused
	// ActivityEvent is an event a sensor emitted; Body is the event. A
	// schedule event (Cloud.Schedule) is one too, without a SID.
	ActivityEvent
	// ActivityDetection is a detection a rule reported; Detection is it.
	ActivityDetection
	// ActivityWebhook is one delivery attempt of a webhook; Body is the
	// envelope, and Detection the detection when the cloud's rules made
	// the one delivered.
	ActivityWebhook
	// ActivityResponse is a service's answer to a webhook, or the error
	// that stood in for one; Exchange is the attempt and its answer.
	ActivityResponse
	// ActivityRuleError is a stored rule that can never match (bad detect)
	// or respond (bad respond), or an answer the cloud had to drop.
	ActivityRuleError
	// ActivityFault is an API call the fault hook failed, delayed or
	// dropped (see Cloud.FailNext); What names the call.
	ActivityFault
)

// String names the kind, e.g. "detection".
func (k ActivityKind) String() string {
	switch k {
	case ActivityTask:
		return "task"
	case ActivityTaskRefused:
		return "task-refused"
	case ActivityEvent:
		return "event"
	case ActivityDetection:
		return "detection"
	case ActivityWebhook:
		return "webhook"
	case ActivityResponse:
		return "response"
	case ActivityRuleError:
		return "rule-error"
	case ActivityFault:
		return "fault"
	}
	return "ActivityKind(?)"
}

// Activity is one thing that happened in the cloud: an entry of its
// record (Cloud.Activities), also handed to the observer set by
// WithObserver as it happens. Fields that do not apply are zero; treat
// what the pointers point to as read-only.
type Activity struct {
	Kind ActivityKind
	Time time.Time
	OID  string // organization, when there is one
	SID  string // sensor, for tasks, events and detections
	// What names the subject: the command lines of a task (joined by
	// "; "), the event_type of an event, the cat of a detection, the etype
	// of a webhook or response, the name of a rule, the kind of API call
	// of a fault.
	What            string
	InvestigationID string // of a task, event or detection
	Service         string // webhooks and responses
	MID             string // webhooks and responses
	Attempt         int    // webhooks and responses, from 1
	Replica         int    // webhooks and responses: as Exchange.Replica
	Err             error  // what went wrong, when something did
	// Body is the JSON of the event, the detection, the webhook envelope
	// or the response body.
	Body json.RawMessage

	Task      *TaskRecord // the call, for ActivityTask and ActivityTaskRefused
	Detection *Detection  // see ActivityDetection and ActivityWebhook
	Exchange  *Exchange   // the attempt, for ActivityResponse
}

// notify records a and hands it to the observer, one at a time, in the
// order of the record. It returns a's position in the record, from 0.
func (c *Cloud) notify(a Activity) int {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	c.observeMu.Lock()
	defer c.observeMu.Unlock()
	c.recordMu.Lock()
	c.record = append(c.record, a)
	n := len(c.record) - 1
	c.recordMu.Unlock()
	if c.observer != nil {
		c.observer(a)
	}
	return n
}

// Activities returns the cloud's record of what happened, in order: every
// task, event, detection, webhook, response, rule error and fault. Org.Tasks,
// Sensor.Events, Service.Exchanges, Service.Detections and the jobs are
// views of it.
func (c *Cloud) Activities() []Activity {
	c.recordMu.Lock()
	defer c.recordMu.Unlock()
	return slices.Clone(c.record)
}

// activities returns the recorded activities of kind for which keep holds.
func (c *Cloud) activities(kind ActivityKind, keep func(*Activity) bool) []Activity {
	c.recordMu.Lock()
	defer c.recordMu.Unlock()
	var out []Activity
	for i := range c.record {
		if a := &c.record[i]; a.Kind == kind && keep(a) {
			out = append(out, *a)
		}
	}
	return out
}
