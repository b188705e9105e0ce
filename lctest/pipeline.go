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
		for _, d := range c.evaluate(s, ev, body) {
			c.notify(Activity{Kind: ActivityDetection, OID: s.org.OID, SID: s.SID, What: d.Cat,
				InvestigationID: investigationID, Body: toJSON(d), Detection: &d})
			c.fanOut(ctx, s.org, d)
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
// and returns the detections their report actions make.
func (c *Cloud) evaluate(s *Sensor, ev SensorEvent, body []byte) []Detection {
	// The evaluator walks plain JSON values, the shape rules are written for.
	doc, err := dr.Decode(body)
	if err != nil {
		return nil
	}
	var out []Detection
	for _, m := range s.org.rules.Evaluate(doc) {
		for _, rep := range m.Reports {
			out = append(out, c.newDetection(ev, m.Rule, rep))
		}
	}
	return out
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
