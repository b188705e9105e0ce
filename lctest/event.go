package lctest

import (
	"encoding/json"
	"time"
)

// Event is what a Responder returns: an event type and its body. The
// cloud adds the routing (sensor, time, ids, investigation_id).
type Event struct {
	Type    string         // event_type, e.g. "OS_PACKAGES_REP"
	Payload map[string]any // the event body; must encode as JSON
}

// Receipt returns a RECEIPT event, the answer a sensor gives to a command
// that failed or that has no other reply. code 0 or 200 means success.
func Receipt(code int, msg string) Event {
	return Event{Type: "RECEIPT", Payload: map[string]any{"ERROR": code, "ERROR_MESSAGE": msg}}
}

// Routing is the routing block of a sensor event: which organization,
// sensor and host it comes from, its event type, time and id, and the
// investigation_id of the task it answers.
type Routing struct {
	OID             string   `json:"oid"`
	SID             string   `json:"sid"`
	IID             string   `json:"iid,omitempty"`
	DID             string   `json:"did,omitempty"`
	Hostname        string   `json:"hostname,omitempty"`
	EventType       string   `json:"event_type"`
	EventTime       int64    `json:"event_time"` // epoch milliseconds
	EventID         string   `json:"event_id"`
	ExtIP           string   `json:"ext_ip,omitempty"`
	IntIP           string   `json:"int_ip,omitempty"`
	Plat            Platform `json:"plat"`
	Arch            Arch     `json:"arch"`
	ModuleID        int      `json:"moduleid,omitempty"`
	This            string   `json:"this,omitempty"`
	Parent          string   `json:"parent,omitempty"`
	Tags            []string `json:"tags"`
	InvestigationID string   `json:"investigation_id,omitempty"`
}

// SensorEvent is a whole event as the cloud sees it: routing and body.
type SensorEvent struct {
	Routing Routing        `json:"routing"`
	Event   map[string]any `json:"event"`
}

// Time returns the event's time.
func (e SensorEvent) Time() time.Time { return time.UnixMilli(e.Routing.EventTime) }

// Detection is what a D&R report action makes of an event;
// for etype detection it is the webhook's data.
type Detection struct {
	Cat        string         `json:"cat"`
	Detect     SensorEvent    `json:"detect"`
	Routing    Routing        `json:"routing"`
	DetectID   string         `json:"detect_id"`
	SourceRule string         `json:"source_rule"`
	Namespace  string         `json:"namespace"`
	Source     string         `json:"source"`
	Link       string         `json:"link"`
	GenTime    int64          `json:"gen_time"` // epoch milliseconds
	Priority   *int           `json:"priority,omitempty"`
	DetectMtd  map[string]any `json:"detect_mtd,omitempty"`
}

// decodeObject decodes a JSON object keeping numbers as json.Number, so
// that rule values and event fields compare exactly.
func decodeObject(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := unmarshalNumbers(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// normalizePayload turns a responder's payload into plain JSON values
// (maps, slices, strings, bools, json.Number), the shape the evaluator and
// the webhooks use.
func normalizePayload(p map[string]any) (map[string]any, error) {
	if p == nil {
		return map[string]any{}, nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return decodeObject(raw)
}
