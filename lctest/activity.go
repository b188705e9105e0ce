package lctest

import (
	"encoding/json"
	"time"
)

// ActivityKind tells what an Activity reports.
type ActivityKind int

const (
	// ActivityTask is a task call the API accepted, one per command line.
	ActivityTask ActivityKind = iota + 1
	// ActivityTaskRefused is a task call the API refused (offline sensor
	// in OfflineError mode, injected failure) or ignored (repeated
	// idempotency key). Err says which.
	ActivityTaskRefused
	// ActivityEvent is an event a sensor emitted.
	ActivityEvent
	// ActivityDetection is a detection a rule reported.
	ActivityDetection
	// ActivityWebhook is one delivery attempt of a webhook.
	ActivityWebhook
	// ActivityResponse is a service's answer to a webhook, or the error
	// that stood in for one.
	ActivityResponse
	// ActivityRuleError is a stored rule that can never match (bad detect)
	// or respond (bad respond), or an answer the cloud had to drop.
	ActivityRuleError
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
	}
	return "ActivityKind(?)"
}

// Activity is one thing that happened in the cloud, reported to the
// observer set by WithObserver. Fields that do not apply are zero.
type Activity struct {
	Kind ActivityKind
	Time time.Time
	OID  string // organization, when there is one
	SID  string // sensor, for tasks, events and detections
	// What names the subject: the command line of a task, the event_type
	// of an event, the cat of a detection, the etype of a webhook or
	// response, the name of a rule.
	What            string
	InvestigationID string // of a task, event or detection
	Service         string // webhooks and responses
	MID             string // webhooks and responses
	Attempt         int    // webhooks and responses, from 1
	Err             error  // what went wrong, when something did
	// Body is the JSON of the event, the detection, the webhook envelope
	// or the response body.
	Body json.RawMessage
}

// notify hands a to the observer, one call at a time.
func (c *Cloud) notify(a Activity) {
	if c.observer == nil {
		return
	}
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	c.observeMu.Lock()
	defer c.observeMu.Unlock()
	c.observer(a)
}
