package lctest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// notificationExpiry is how far in the future a CLOUD_NOTIFICATION's
// EXPIRY lies: how long the cloud would keep the task for the sensor.
const notificationExpiry = time.Hour

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
		c.answerTask(c.ctx, s, line, investigationID)
	}()
	return true
}

// answerTask emits what a sensor sends for one command line: the
// CLOUD_NOTIFICATION receipt, then its answer.
func (c *Cloud) answerTask(ctx context.Context, s *Sensor, line, investigationID string) {
	cmd, err := ParseCommand(line)
	name := cmd.Name
	if name == "" {
		if f := strings.Fields(line); len(f) > 0 {
			name = f[0]
		}
	}
	events := []Event{{Type: "CLOUD_NOTIFICATION", Payload: map[string]any{
		"NOTIFICATION_ID": strings.ToUpper(name) + "_REQ",
		"NOTIFICATION":    line,
		"EXPIRY":          time.Now().Add(notificationExpiry).Unix(),
	}}}
	if err != nil {
		events = append(events, Receipt(errCodeBadArguments, err.Error()))
	} else {
		events = append(events, answer(s, cmd)...)
	}
	c.emit(ctx, s, investigationID, events)
}

// emit sends events from s, one after the other: each gets its routing,
// is reported to the observer, runs through the organization's rules,
// and every detection it causes is delivered before the next event.
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
		c.notify(Activity{Kind: ActivityEvent, OID: s.org.OID, SID: s.SID, What: ev.Routing.EventType,
			InvestigationID: investigationID, Body: toJSON(ev)})
		for _, d := range c.evaluate(s, ev) {
			c.notify(Activity{Kind: ActivityDetection, OID: s.org.OID, SID: s.SID, What: d.Cat,
				InvestigationID: investigationID, Body: toJSON(d)})
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
	return SensorEvent{
		Routing: Routing{
			OID:             s.org.OID,
			SID:             s.SID,
			IID:             s.iid,
			DID:             s.did,
			Hostname:        s.hostname,
			EventType:       e.Type,
			EventTime:       time.Now().UnixMilli(),
			EventID:         newUUID(),
			ExtIP:           s.extIP,
			IntIP:           s.intIP,
			Plat:            s.platform,
			Arch:            s.arch,
			ModuleID:        2,
			This:            randomHex(16),
			Tags:            s.Tags(),
			InvestigationID: investigationID,
		},
		Event: payload,
	}, nil
}

// evaluate runs ev through the organization's active rules and returns
// the detections their report actions make.
func (c *Cloud) evaluate(s *Sensor, ev SensorEvent) []Detection {
	rules := s.org.activeRules()
	if len(rules) == 0 {
		return nil
	}
	// The evaluator walks plain JSON values, the shape rules are written for.
	doc, err := decodeObject(toJSON(ev))
	if err != nil {
		return nil
	}
	var out []Detection
	for _, r := range rules {
		if !r.detect.match(doc) {
			continue
		}
		for _, rep := range r.reports {
			out = append(out, c.newDetection(s, ev, r, rep))
		}
	}
	return out
}

// newDetection builds the detection a report action makes of ev.
func (c *Cloud) newDetection(s *Sensor, ev SensorEvent, r *compiledRule, rep reportAction) Detection {
	id := newUUID()
	return Detection{
		Cat:        rep.name,
		Detect:     ev,
		Routing:    ev.Routing,
		DetectID:   id,
		SourceRule: r.Name,
		Namespace:  r.Namespace,
		// The dotted identity of the sensor the event came from.
		Source:    fmt.Sprintf("%s.%s.%s.%x.%d", s.org.OID, s.iid, s.SID, uint32(s.platform), uint32(s.arch)),
		Link:      fmt.Sprintf("%s/orgs/%s/detections/%s", c.URL(), s.org.OID, id),
		GenTime:   time.Now().UnixMilli(),
		Priority:  rep.priority,
		DetectMtd: rep.metadata,
	}
}

// fanOut delivers d to every service installed in org that subscribes to
// its category, one after the other.
func (c *Cloud) fanOut(ctx context.Context, org *Org, d Detection) {
	for _, svc := range c.subscribers(org, d.Cat) {
		if ctx.Err() != nil {
			return
		}
		svc.deliverDetection(ctx, org, d)
	}
}
