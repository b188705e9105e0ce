package extension

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// RuleNamespace is where the transport stores its D&R rules (Hive
// dr-managed): the extension needs dr.set.managed and dr.del.managed.
const RuleNamespace = "managed"

// scheduleEvent returns the schedule event (a D&R schedule target event)
// that stands for the cron event type e, or "" when none does: the platform
// emits 1h, 3h, 12h, 24h and 168h schedules per organization and per
// sensor, and nothing once per service or every 30 days.
func scheduleEvent(e service.EventType) string {
	switch e {
	case service.OrgPer1h:
		return "1h_per_org"
	case service.OrgPer3h:
		return "3h_per_org"
	case service.OrgPer12h:
		return "12h_per_org"
	case service.OrgPer24h:
		return "24h_per_org"
	case service.OrgPer7d:
		return "168h_per_org"
	case service.SensorPer1h:
		return "1h_per_sensor"
	case service.SensorPer3h:
		return "3h_per_sensor"
	case service.SensorPer12h:
		return "12h_per_sensor"
	case service.SensorPer24h:
		return "24h_per_sensor"
	case service.SensorPer7d:
		return "168h_per_sensor"
	}
	return ""
}

// Respond returns the respond list of a D&R rule that calls the extension:
// one "extension request" action, on which the platform sends the extension
// a request with the given action, whose data is the transform applied to
// what the rule matched. A transform value is a template
// ("{{ .routing.sid }}") or a path selecting part of the matched JSON
// ("routing" selects the whole routing object).
func Respond(extension, action string, transform map[string]string) json.RawMessage {
	if transform == nil {
		transform = map[string]string{}
	}
	b, _ := json.Marshal([]map[string]any{{
		"action":            "extension request",
		"extension name":    extension,
		"extension action":  action,
		"extension request": transform,
	}})
	return b
}

// detectionTransform passes a detection as the service protocol delivers it.
var detectionTransform = map[string]string{
	"cat": "cat", "source_rule": "source_rule", "namespace": "namespace", "detect_id": "detect_id",
	"gen_time": "gen_time", "link": "link", "priority": "priority", "author": "author",
	"routing": "routing", "detect": "detect", "detect_data": "detect_data", "detect_mtd": "detect_mtd",
}

// rules returns the D&R rules the service needs on extensions: one on the
// schedule target per cron event type it handles that has a counterpart,
// and one on the detection target per detection it subscribed to.
func (t *Transport) rules(m service.Metadata) []tasking.Rule {
	var out []tasking.Rule
	for _, e := range m.EventTypes {
		ev := scheduleEvent(e)
		if !e.Cron() || ev == "" {
			continue
		}
		detect, _ := json.Marshal(map[string]string{"target": "schedule", "event": ev, "op": "exists", "path": "event"})
		var transform map[string]string
		if strings.HasPrefix(string(e), "sensor_") {
			transform = map[string]string{"sid": "{{ .routing.sid }}"}
		}
		out = append(out, tasking.Rule{
			Name: TickRuleName(m.Name, e), Namespace: RuleNamespace, Enabled: true,
			Detect: detect, Respond: Respond(t.cfg.name, TickActionPrefix+string(e), transform),
		})
	}
	if m.Implements(service.Detection) {
		for _, d := range m.Subscriptions {
			detect, _ := json.Marshal(map[string]string{"target": "detection", "op": "is", "path": "cat", "value": d})
			out = append(out, tasking.Rule{
				Name: DetectionRuleName(m.Name, d), Namespace: RuleNamespace, Enabled: true,
				Detect: detect, Respond: Respond(t.cfg.name, DetectionAction, detectionTransform),
			})
		}
	}
	return out
}

// TickRuleName is the name of the D&R rule that delivers the cron event
// type e to service: "svc-<service>-tick-<e>".
func TickRuleName(service string, e service.EventType) string {
	return "svc-" + service + "-tick-" + string(e)
}

// DetectionRuleName is the name of the D&R rule that delivers the detection
// named detection to service: "svc-<service>-det-<detection, made safe>-<hash>".
func DetectionRuleName(service, detection string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(detection) {
		if b.Len() >= 40 {
			break
		}
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(detection))
	return "svc-" + service + "-det-" + b.String() + "-" + hex.EncodeToString(sum[:4])
}

// storeRules stores the service's rules in org (subscribe, update).
func (t *Transport) storeRules(ctx context.Context, req *service.Request, rules []tasking.Rule) error {
	var errs []error
	for _, r := range rules {
		if err := t.restClient().PutRule(ctx, req.Org(), r); err != nil {
			req.Logger().Error("storing D&R rule failed", "rule", r.Name, "error", err)
			errs = append(errs, fmt.Errorf("storing D&R rule %s (the extension needs dr.set.managed): %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteRules deletes the service's rules from org (unsubscribe); a rule
// already gone is not an error.
func (t *Transport) deleteRules(ctx context.Context, req *service.Request, rules []tasking.Rule) error {
	var errs []error
	for _, r := range rules {
		err := t.restClient().DeleteRule(ctx, req.Org(), r.Namespace, r.Name)
		if err != nil && !errors.Is(err, tasking.ErrNotFound) {
			req.Logger().Error("deleting D&R rule failed", "rule", r.Name, "error", err)
			errs = append(errs, fmt.Errorf("deleting D&R rule %s (the extension needs dr.del.managed): %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}
