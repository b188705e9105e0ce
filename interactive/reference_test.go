package interactive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// The decoders the reply path used before it walked detections with
// jsonscan, kept as the reference the differential tests compare with:
// every valid detection must route the same.

// refDetectionWire decodes a detection only as far as routing needs it, in
// one pass over the detection: its routing, and its detect kept raw.
type refDetectionWire struct {
	Routing eventRouting   `json:"routing"`
	Detect  refDetectField `json:"detect"`
}

// refDetectField is a detection's detect. The platform's detection stream
// puts the bare event payload there, routing beside it; an older shape,
// which the reference Python framework reads, nests {event, routing}
// instead.
type refDetectField struct {
	raw     json.RawMessage // the whole detect
	event   json.RawMessage // detect.event, in the nested shape
	routing *eventRouting   // detect.routing, in the nested shape
}

// UnmarshalJSON keeps detect as it is. Only when it names an "event" or a
// "routing" (event payloads name their fields in capitals) is it read
// again, to tell the nested shape from a payload that merely holds such
// a string.
func (d *refDetectField) UnmarshalJSON(b []byte) error {
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
func refParseDetection(data json.RawMessage) (eventRouting, json.RawMessage, error) {
	var d refDetectionWire
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
func refReceiptError(event json.RawMessage) (err error, done bool) {
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

// parseReplyRequest returns the routing and raw event of a reply request:
// {"event":…, "routing":…}, each an object or a JSON-encoded string (as a
// template transform would make it). A detection-shaped payload is read as
// a detection.
func refParseReplyRequest(data json.RawMessage) (eventRouting, json.RawMessage, error) {
	var d struct {
		Event   json.RawMessage `json:"event"`
		Routing json.RawMessage `json:"routing"`
		Detect  json.RawMessage `json:"detect"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return eventRouting{}, nil, fmt.Errorf("reply is not an object: %w", err)
	}
	if len(d.Detect) > 0 {
		return refParseDetection(data)
	}
	var r eventRouting
	if err := json.Unmarshal(unquoteJSON(d.Routing), &r); err != nil {
		return eventRouting{}, nil, fmt.Errorf("reply routing: %w", err)
	}
	return r, unquoteJSON(d.Event), nil
}

// parseSeeds are detections and reply requests on the edges of the two
// shapes: keys in other cases and in escapes, members named twice, nulls,
// values of the wrong type.
var parseSeeds = []string{
	`{"cat":"c","routing":{"oid":"o","sid":"s","event_type":"OS_VERSION_REP","event_time":1,"investigation_id":"svc-x-ex/AA"},"detect":{"BUILD_NUMBER":1}}`,
	`{"routing":{},"detect":{"event":{"ERROR":5,"ERROR_MESSAGE":"no"},"routing":{"sid":"s","investigation_id":"i"}}}`,
	`{"detect":{"routing":{"plat":268435456,"event_time":1e400}}}`,
	`{"routing":{"plat":-1}}`, `{"routing":[]}`, `[]`, `null`, `{"detect":"x"}`, `{"detect":null}`, `{"detect":"\"event\""}`,
	`{"detect":{"event":{"ERROR":"200","ERROR_MESSAGE":"done"}}}`,
	`{"ROUTING":{"SID":"s","Investigation_ID":"i"},"Detect":{"A":1}}`,
	`{"routing":{"sid":"s","investigation_id":"i"},"routing":{"oid":"o"},"detect":1,"detect":{"A":2}}`,
	`{"routing":{"investigation_id":"i"},"routing":{"investigation_id":null}}`,
	`{"detect":{"\u0065vent":{"A":1},"routing":null}}`, `{"detect":{"\u0065vent":{"A":1}}}`, `{"detect":{"\u0065vent":1,"x":"event"}}`,
	`{"detect":{"event":{"A":1}},"detect":{"X":{"event":2}}}`, `{"detect":{"event":{"A":1}},"detect":{"B":2}}`,
	`{"detect":{"event":{"A":1}},"detect":[{"event":2}]}`, `{"detect":{"routing":{"sid":"s"}},"detect":{"\u0072outing":{"sid":"t"}}}`,
	`{"routing":{"sid":"s"},"detect":{"routing":null,"event":null}}`, `{"routing":{"plat":"x","investigation_id":"svc-x"}}`,
	`{"event":{"A":1},"routing":{"sid":"s","investigation_id":"i"}}`, `{"event":"{\"A\":1}","routing":"{\"sid\":\"s\"}"}`,
	`{"EVENT":1,"Routing":"{}","detect":null}`, `{"event":1}`, `{"routing":"x"}`, `{"routing":"\"x\""}`,
	`{"ERROR":"12","error_message":"x"}`, `{"ERROR":true}`, `{"ERROR":1.0,"ERROR_MEſſAGE":"y"}`, `{"ERROR_MESSAGE":5}`,
	`{"ERROR":null,"ERROR_MESSAGE":"done"}`, `{"ERROR":"abc"}`, `{"ERROR":0,"ERROR":7}`, "{\"routing\":{\"sid\":\"\xff\"}}",
	` {"routing" : {"sid" : "s"} , "detect" : { "event" : { } } } `,
}

// FuzzParseMatchesReference holds the detection, reply request and
// receipt readers to the encoding/json decoders they replace: on every
// valid JSON document, the same routing, event, error or not, and
// receipt verdict. Routing decides on nothing else, so a reply that is
// valid JSON routes as it did.
func FuzzParseMatchesReference(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		r, ev, err := parseDetection(data)
		wr, wev, werr := refParseDetection(data)
		if (err != nil) != (werr != nil) || err == nil && (r != wr || !bytes.Equal(ev, wev)) {
			t.Fatalf("parseDetection(%s) = %+v %s %v; reference %+v %s %v", data, r, ev, err, wr, wev, werr)
		}
		r, ev, err = parseReplyRequest(data)
		wr, wev, werr = refParseReplyRequest(data)
		if (err != nil) != (werr != nil) || err == nil && (r != wr || !bytes.Equal(ev, wev)) {
			t.Fatalf("parseReplyRequest(%s) = %+v %s %v; reference %+v %s %v", data, r, ev, err, wr, wev, werr)
		}
		rerr, done := receiptError(data)
		wrerr, wdone := refReceiptError(data)
		if fmt.Sprint(rerr) != fmt.Sprint(wrerr) || done != wdone {
			t.Fatalf("receiptError(%s) = %v %v; reference %v %v", data, rerr, done, wrerr, wdone)
		}
	})
}
