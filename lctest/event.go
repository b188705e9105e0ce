package lctest

import (
	"encoding/json"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// Routing is the routing block of a sensor event: which organization,
// sensor and host it comes from, its event type, time and id, its atoms,
// and the investigation_id of the task it answers.
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
	Target          string   `json:"target,omitempty"`
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

// Detection is what a D&R report action makes of an event, in the shape
// of LimaCharlie's detection stream; for etype detection it is the
// webhook's data. Detect is the bare event payload, Routing the event's
// routing and Source the namespace of the rule that reported, as
// "dr-<namespace>".
type Detection struct {
	Cat        string         `json:"cat"`    // the report's name
	Source     string         `json:"source"` // "dr-general", "dr-managed", …
	Routing    Routing        `json:"routing"`
	Detect     map[string]any `json:"detect"` // the event's payload
	DetectID   string         `json:"detect_id"`
	Namespace  string         `json:"namespace"`
	Priority   int            `json:"priority"`
	DetectMtd  map[string]any `json:"detect_mtd"` // the report's metadata
	RuleTags   []string       `json:"rule_tags"`
	Author     string         `json:"author"`
	SourceRule string         `json:"source_rule"`
	GenTime    int64          `json:"gen_time"` // epoch milliseconds
	Link       string         `json:"link"`
}

// DetectionShape is how detection webhooks carry the event.
type DetectionShape int

const (
	// DocumentedDetection, the default, sends the shape of LimaCharlie's
	// detection stream: detect is the bare event payload, routing beside
	// it.
	DocumentedDetection DetectionShape = iota
	// NestedDetection sends detect as {event, routing}, the older shape
	// the reference Python framework reads its investigation id from
	// (detect.routing.investigation_id). The top-level routing is sent
	// too.
	NestedDetection
)

// wire returns d as the webhook data of shape.
func (d Detection) wire(shape DetectionShape) any {
	if shape != NestedDetection {
		return d
	}
	return struct {
		Detection
		Detect SensorEvent `json:"detect"`
	}{d, SensorEvent{Routing: d.Routing, Event: d.Detect}}
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
	return dr.Decode(raw)
}
