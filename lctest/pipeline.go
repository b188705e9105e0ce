package lctest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// schedule has s answer the command line after its latency, on a
// goroutine of its own. It reports false when the cloud is closed.
func (c *Cloud) schedule(s *Sensor, line, investigationID string, latency time.Duration) bool {
	if !c.begin() {
		return false
	}
	go func() {
		defer c.finish()
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.ctx.Done():
				return
			}
		}
		c.emit(c.ctx, s, investigationID, answerLine(s, line, investigationID))
	}()
	return true
}

// emit sends events from s, one after the other: each gets its routing,
// is recorded, runs through the organization's rules, and every detection
// it causes is delivered before the next event.
func (c *Cloud) emit(ctx context.Context, s *Sensor, investigationID string, events []Event) {
	for _, e := range events {
		if ctx.Err() != nil {
			return
		}
		ev, err := s.newEvent(e, investigationID)
		if err != nil {
			c.notify(Activity{Kind: ActivityRuleError, OID: s.org.OID, SID: s.SID, What: e.Type,
				InvestigationID: investigationID, Err: err})
			continue
		}
		body := toJSON(ev)
		c.notify(Activity{Kind: ActivityEvent, OID: s.org.OID, SID: s.SID, What: ev.Routing.EventType,
			InvestigationID: investigationID, Body: body})
		dets, calls := c.evaluate(s, ev, body)
		c.callExtensions(ctx, s.org, calls)
		for _, d := range dets {
			c.notify(Activity{Kind: ActivityDetection, OID: s.org.OID, SID: s.SID, What: d.Cat,
				InvestigationID: investigationID, Body: toJSON(d), Detection: &d})
			c.fanOut(ctx, s.org, d)
			c.callExtensions(ctx, s.org, c.evaluateDetection(s.org, d))
		}
	}
}

// newEvent gives e its routing.
func (s *Sensor) newEvent(e Event, investigationID string) (SensorEvent, error) {
	if e.Type == "" {
		return SensorEvent{}, errors.New("lctest: a Responder returned an event without a Type; it was dropped")
	}
	payload, err := normalizePayload(e.Payload)
	if err != nil {
		return SensorEvent{}, fmt.Errorf("lctest: the payload of a %s event does not encode as JSON, so it was dropped: %w", e.Type, err)
	}
	this := e.This
	if this == "" {
		this = randomHex(16)
	}
	ext, internal := s.host.Addresses()
	return SensorEvent{
		Routing: Routing{
			OID:             s.org.OID,
			SID:             s.SID,
			IID:             s.iid,
			DID:             s.did,
			Hostname:        s.Hostname(),
			EventType:       e.Type,
			EventTime:       time.Now().UnixMilli(),
			EventID:         newUUID(),
			ExtIP:           ext,
			IntIP:           internal,
			Plat:            s.platform,
			Arch:            s.arch,
			ModuleID:        2,
			This:            this,
			Parent:          e.Parent,
			Tags:            s.Tags(),
			InvestigationID: investigationID,
		},
		Event: payload,
	}, nil
}

// evaluate runs ev (body is its JSON) through the organization's rules
// and returns the detections their report actions make and the extension
// requests their extension request actions make.
func (c *Cloud) evaluate(s *Sensor, ev SensorEvent, body []byte) ([]Detection, []extensionCall) {
	// The evaluator walks plain JSON values, the shape rules are written for.
	doc, err := dr.Decode(body)
	if err != nil {
		return nil, nil
	}
	var out []Detection
	var calls []extensionCall
	for _, m := range s.org.rules.Evaluate(doc) {
		for _, rep := range m.Reports {
			out = append(out, c.newDetection(ev, m.Rule, rep))
		}
		calls = appendCalls(calls, m, doc, nil)
	}
	return out, calls
}

// evaluateDetection runs d through the organization's rules of the
// detection target and returns the extension requests they make (their
// report actions are ignored: a detection does not report detections).
func (c *Cloud) evaluateDetection(org *Org, d Detection) []extensionCall {
	doc, err := dr.Decode(toJSON(d))
	if err != nil {
		return nil
	}
	var calls []extensionCall
	for _, m := range org.rules.EvaluateTarget(dr.TargetDetection, doc) {
		calls = appendCalls(calls, m, doc, &d)
	}
	return calls
}

func appendCalls(calls []extensionCall, m dr.Match, doc map[string]any, det *Detection) []extensionCall {
	for _, x := range m.Extensions {
		calls = append(calls, extensionCall{name: x.Extension, action: x.Action, data: x.Build(doc), det: det})
	}
	return calls
}

// Schedule fires the schedule event name about org, as the platform does
// on its schedule: name is <N>h_per_org (once for the organization) or
// <N>h_per_sensor (once per sensor of the organization), e.g.
// "12h_per_org". Each runs as {routing, event} through the organization's
// rules of the schedule target (detect with target: schedule and event:
// name); their extension requests are delivered before Schedule returns.
// The routing carries oid, event_type (name), event_time and, per sensor,
// sid and hostname; the event is empty.
func (c *Cloud) Schedule(ctx context.Context, org *Org, name string) error {
	perSensor, ok := validSchedule(name)
	if !ok {
		return fmt.Errorf("lctest: Schedule: %q is not a schedule event (<N>h_per_org or <N>h_per_sensor, e.g. 12h_per_org)", name)
	}
	if org == nil {
		return errors.New("lctest: Schedule: org is nil")
	}
	if !c.begin() {
		return ErrClosed
	}
	defer c.finish()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()
	sensors := []*Sensor{nil}
	if perSensor {
		sensors = org.Sensors()
	}
	for _, s := range sensors {
		doc := scheduleDoc(org, s, name)
		// Not a sensor's event: recorded without a sid, so that
		// Sensor.Events does not list it.
		c.notify(Activity{Kind: ActivityEvent, OID: org.OID, What: name, Body: toJSON(doc)})
		var calls []extensionCall
		for _, m := range org.rules.EvaluateTarget(dr.TargetSchedule, doc) {
			calls = appendCalls(calls, m, doc, nil)
		}
		c.callExtensions(ctx, org, calls)
	}
	return ctx.Err()
}

// newDetection builds the detection a report action of rule makes of ev.
func (c *Cloud) newDetection(ev SensorEvent, rule dr.Rule, rep dr.Report) Detection {
	id := newUUID()
	mtd := rep.Metadata
	if mtd == nil {
		mtd = map[string]any{}
	}
	tags := rule.Tags
	if tags == nil {
		tags = []string{}
	}
	return Detection{
		Cat:        rep.Name,
		Source:     "dr-" + rule.Namespace,
		Routing:    ev.Routing,
		Detect:     ev.Event,
		DetectID:   id,
		Namespace:  rule.Namespace,
		Priority:   rep.Priority,
		DetectMtd:  mtd,
		RuleTags:   tags,
		Author:     rule.Author,
		SourceRule: rule.Name,
		GenTime:    time.Now().UnixMilli(),
		Link:       fmt.Sprintf("%s/orgs/%s/detections/%s", c.URL(), ev.Routing.OID, id),
	}
}

// fanOut delivers d to every service installed in org that subscribes to
// its category, one after the other.
func (c *Cloud) fanOut(ctx context.Context, org *Org, d Detection) {
	for _, svc := range c.subscribers(org, d.Cat) {
		if ctx.Err() != nil {
			return
		}
		_, _ = svc.deliver(ctx, "detection", org, d.wire(c.detectionShape), &d)
	}
}
