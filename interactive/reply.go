package interactive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// Reply is one sensor event answering a task.
type Reply struct {
	// Org is the organization, with the JWT of the webhook that carried the
	// reply: pass it to Task to task again.
	Org       tasking.Org
	SID       string
	Hostname  string
	Platform  Platform  // 0 when the routing did not say
	EventType string    // e.g. OS_PACKAGES_REP, RECEIPT
	EventTime time.Time // when the sensor produced the event
	// TaskID identifies the task; Handler is its named handler, if any.
	TaskID  TaskID
	Handler string
	// Job is the task's job reopened by id (nil if the task had none). What
	// the continuation narrates on it is sent with the response.
	Job *jobs.Job
	// Err is set when the sensor answered with a RECEIPT carrying an error.
	Err error
	// Final is set on the RECEIPT "done" that ends a streaming task.
	Final bool
	// Replies counts the replies delivered for this task so far, this one
	// included (known only while the task is pending in this process).
	Replies int
	// Request is the webhook that carried the reply: its message id, its
	// logger (Request.Logger).
	Request *service.Request

	event json.RawMessage
	state []byte
	done  func()
}

// Event returns the event payload as raw JSON.
func (r *Reply) Event() json.RawMessage { return r.event }

// Decode unmarshals the event payload into v.
func (r *Reply) Decode(v any) error {
	if len(r.event) == 0 {
		return errors.New("reply carries no event payload")
	}
	if err := json.Unmarshal(r.event, v); err != nil {
		return fmt.Errorf("decoding %s payload: %w", r.EventType, err)
	}
	return nil
}

// HasState reports whether the task carried state.
func (r *Reply) HasState() bool { return len(r.state) > 0 }

// State unmarshals the state given to the task with WithState into v.
func (r *Reply) State(v any) error { return decodeState(r.state, v) }

// Done ends a streaming task now: no timeout fires for it, and later replies
// go to its named handler or the orphan handler.
func (r *Reply) Done() {
	if r.done != nil {
		r.done()
	}
}

func decodeState(state []byte, v any) error {
	if len(state) == 0 {
		return errors.New("the task carried no state")
	}
	if err := json.Unmarshal(state, v); err != nil {
		return fmt.Errorf("decoding task state: %w", err)
	}
	return nil
}

// eventRouting is the part of an event's routing that routing needs.
type eventRouting struct {
	OID             string   `json:"oid"`
	SID             string   `json:"sid"`
	Hostname        string   `json:"hostname"`
	Plat            Platform `json:"plat"`
	EventType       string   `json:"event_type"`
	EventTime       float64  `json:"event_time"`
	InvestigationID string   `json:"investigation_id"`
}

// detectionWire decodes a detection only as far as routing needs it, in
// one pass over the detection: its routing, and its detect kept raw.
type detectionWire struct {
	Routing eventRouting `json:"routing"`
	Detect  detectField  `json:"detect"`
}

// detectField is a detection's detect. The platform's detection stream
// puts the bare event payload there, routing beside it; an older shape,
// which the reference Python framework reads, nests {event, routing}
// instead.
type detectField struct {
	raw     json.RawMessage // the whole detect
	event   json.RawMessage // detect.event, in the nested shape
	routing *eventRouting   // detect.routing, in the nested shape
}

// UnmarshalJSON keeps detect as it is. Only when it names an "event" or a
// "routing" (event payloads name their fields in capitals) is it read
// again, to tell the nested shape from a payload that merely holds such
// a string.
func (d *detectField) UnmarshalJSON(b []byte) error {
	d.raw = append(d.raw[:0], b...)
	if !bytes.Contains(b, []byte(`"event"`)) && !bytes.Contains(b, []byte(`"routing"`)) {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return nil // not an object: a bare payload of another kind
	}
	d.event = fields["event"]
	if raw, ok := fields["routing"]; ok {
		var r eventRouting
		if json.Unmarshal(raw, &r) == nil {
			d.routing = &r
		}
	}
	return nil
}

// parseDetection returns the routing and raw event of a detection, in
// either shape. The routing is data.routing; what it lacks is taken from
// data.detect.routing when detect is nested: the investigation id, or all
// of it when the top-level routing names no sensor. The event is
// data.detect.event when detect is nested, else data.detect itself.
func parseDetection(data json.RawMessage) (eventRouting, json.RawMessage, error) {
	var d detectionWire
	if err := json.Unmarshal(data, &d); err != nil {
		return eventRouting{}, nil, fmt.Errorf("detection is not an object: %w", err)
	}
	event := d.Detect.raw
	if d.Detect.event != nil {
		event = d.Detect.event
	}
	r := d.Routing
	if inner := d.Detect.routing; inner != nil {
		if r.InvestigationID == "" {
			r.InvestigationID = inner.InvestigationID
		}
		if r.SID == "" {
			r = *inner
		}
	}
	return r, event, nil
}

// receiptError returns the error a RECEIPT event reports, or nil.
func receiptError(event json.RawMessage) (err error, done bool) {
	var rc struct {
		Code    json.Number `json:"ERROR"`
		Message string      `json:"ERROR_MESSAGE"`
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	if dec.Decode(&rc) != nil {
		return nil, false
	}
	switch rc.Code.String() {
	case "", "0", "200":
		return nil, rc.Message == "done"
	}
	msg := rc.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Errorf("sensor reported error %s: %s", rc.Code, msg), false
}
