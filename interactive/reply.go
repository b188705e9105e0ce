package interactive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lcsvc/lcservice/internal/jsonscan"
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

	event []byte // a slice of the webhook's data
	state []byte
	done  func()
}

// Event returns the event payload as raw JSON, as it came in the webhook,
// without a copy: do not modify it.
func (r *Reply) Event() json.RawMessage { return r.event }

// Decode unmarshals the event payload into v, with encoding/json's rules.
func (r *Reply) Decode(v any) error {
	// encoding/json itself: the faster decoders measured (goccy/go-json,
	// segmentio/encoding, json-iterator, sonic) each decode some inputs
	// differently.
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

// detectField is a detection's detect, as parseDetection reads it. The
// platform's detection stream puts the bare event payload there, routing
// beside it; an older shape, which the reference Python framework reads,
// nests {event, routing} instead.
type detectField struct {
	raw     []byte        // the whole detect
	event   []byte        // detect.event, in the nested shape
	routing *eventRouting // detect.routing, in the nested shape
}

// set reads one detect member. The detect is kept as it is; only its own
// members are looked at, to tell the nested shape by an "event" or
// "routing" member (event payloads name their fields in capitals). It
// reads a detect named twice as encoding/json would into a field whose
// UnmarshalJSON did the same.
func (d *detectField) set(v *jsonscan.Value) {
	var event, routing []byte
	named, escaped := false, false
	isObject := v.Walk(func(k []byte, v *jsonscan.Value) bool {
		key, _ := jsonscan.Unquote(k)
		switch string(key) {
		case "event":
			event = v.Raw()
		case "routing":
			routing = v.Raw()
		default:
			return true
		}
		named = true
		escaped = escaped || len(key)+2 != len(k)
		return true
	})
	b := v.Raw()
	d.raw = b
	if !isObject {
		return // a bare payload of another kind
	}
	if !named {
		if d.event == nil && d.routing == nil {
			return
		}
		// An earlier detect was nested: a later one that names its fields
		// in escapes only clears the event if it spells one of them out.
		if !bytes.Contains(b, []byte(`"event"`)) && !bytes.Contains(b, []byte(`"routing"`)) {
			return
		}
	} else if escaped && !bytes.Contains(b, []byte(`"event"`)) && !bytes.Contains(b, []byte(`"routing"`)) {
		return // members named only in escapes do not make the nested shape
	}
	d.event = event
	if routing != nil {
		var r eventRouting
		if json.Unmarshal(routing, &r) == nil {
			d.routing = &r
		}
	}
}

// parseDetection returns the routing and raw event of a detection, in
// either shape. The routing is data.routing; what it lacks is taken from
// data.detect.routing when detect is nested: the investigation id, or all
// of it when the top-level routing names no sensor. The event is
// data.detect.event when detect is nested, else data.detect itself, a
// slice of data. data is valid JSON, as every transport's Request.Data:
// it is walked once, and only the routing is decoded.
func parseDetection(data []byte) (eventRouting, []byte, error) {
	var r eventRouting
	var det detectField
	var err error
	isObject := jsonscan.Walk(data, func(k []byte, v *jsonscan.Value) bool {
		key, _ := jsonscan.Unquote(k)
		switch {
		case jsonscan.FieldMatches(key, "routing"):
			if rerr := json.Unmarshal(v.Raw(), &r); rerr != nil && err == nil {
				err = fmt.Errorf("detection routing: %w", rerr)
			}
		case jsonscan.FieldMatches(key, "detect"):
			det.set(v)
		}
		return true
	})
	switch {
	case !isObject && !isNull(data):
		return eventRouting{}, nil, errors.New("detection is not an object")
	case err != nil:
		return eventRouting{}, nil, err
	}
	event := det.raw
	if det.event != nil {
		event = det.event
	}
	if inner := det.routing; inner != nil {
		if r.InvestigationID == "" {
			r.InvestigationID = inner.InvestigationID
		}
		if r.SID == "" {
			r = *inner
		}
	}
	return r, event, nil
}

// isNull reports whether v is the JSON null.
func isNull(v []byte) bool { return string(bytes.TrimSpace(v)) == "null" }

// receiptError returns the error a RECEIPT event reports, or nil. Only
// ERROR and ERROR_MESSAGE are decoded; the rest of the event is skipped.
func receiptError(event []byte) (err error, done bool) {
	var code json.Number
	var msg string
	failed := false
	if !jsonscan.Members(event, func(k, v []byte) bool {
		key, _ := jsonscan.Unquote(k)
		switch {
		case jsonscan.FieldMatches(key, "ERROR"):
			failed = json.Unmarshal(v, &code) != nil || failed
		case jsonscan.FieldMatches(key, "ERROR_MESSAGE"):
			failed = json.Unmarshal(v, &msg) != nil || failed
		}
		return true
	}) || failed {
		return nil, false
	}
	switch code.String() {
	case "", "0", "200":
		return nil, msg == "done"
	}
	if msg == "" {
		msg = "no message"
	}
	return fmt.Errorf("sensor reported error %s: %s", code, msg), false
}
