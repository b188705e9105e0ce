package dr

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// matcher is a compiled detect component: it reports whether an event
// (the JSON object {routing, event}, decoded by Decode) matches.
type matcher interface {
	match(event any) bool
}

// compileDetect compiles the detect part of a D&R rule. It supports the
// operators services use in their rules: and, or, is, starts with, ends with,
// contains, exists and matches, each with "not" and "case sensitive".
// "event" (one event type) or "events" (a list) on the top-level node
// limit the rule to those event types, as LimaCharlie rules commonly do.
// A top-level "target" says what the rule runs on (TargetEDR by default).
func compileDetect(raw json.RawMessage) (matcher, string, error) {
	if len(raw) == 0 {
		return nil, "", errors.New("detect is missing")
	}
	var node map[string]any
	if err := unmarshal(raw, &node); err != nil {
		return nil, "", fmt.Errorf("detect is not a JSON object: %w", err)
	}
	if node == nil {
		return nil, "", errors.New("detect is null: give an object with an op")
	}
	target := TargetEDR
	if v, ok := node["target"]; ok {
		s, _ := v.(string)
		switch s {
		case TargetEDR, TargetSchedule, TargetDetection:
			target = s
		default:
			return nil, "", fmt.Errorf("detect: target %v: use edr, schedule or detection", v)
		}
	}
	m, err := compileNode(node, "detect")
	if err != nil {
		return nil, "", err
	}
	types, err := eventTypes(node)
	if err != nil {
		return nil, "", err
	}
	if len(types) > 0 {
		m = &eventTypeFilter{types: types, next: m}
	}
	return m, target, nil
}

// The targets a rule runs on.
const (
	// TargetEDR rules run on sensor events: {routing, event}.
	TargetEDR = "edr"
	// TargetSchedule rules run on schedule events: {routing, event} whose
	// routing/event_type is the schedule, such as 12h_per_org.
	TargetSchedule = "schedule"
	// TargetDetection rules run on the detections an organization's rules
	// report, the detection being the root.
	TargetDetection = "detection"
)

// eventTypes reads the top-level event / events restriction.
func eventTypes(node map[string]any) ([]string, error) {
	var types []string
	if v, ok := node["event"]; ok {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, errors.New("detect: event must be an event type string, e.g. NEW_PROCESS")
		}
		types = append(types, s)
	}
	if v, ok := node["events"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, errors.New("detect: events must be a list of event type strings")
		}
		for _, item := range list {
			s, ok := item.(string)
			if !ok || s == "" {
				return nil, errors.New("detect: events must be a list of event type strings")
			}
			types = append(types, s)
		}
	}
	return types, nil
}

type eventTypeFilter struct {
	types []string
	next  matcher
}

func (f *eventTypeFilter) match(event any) bool {
	for _, v := range resolvePath(event, "routing/event_type") {
		if s, ok := v.(string); ok && slices.Contains(f.types, s) {
			return f.next.match(event)
		}
	}
	return false
}

// compileNode compiles one operator node; where names it in errors.
func compileNode(node map[string]any, where string) (matcher, error) {
	op, ok := node["op"].(string)
	if !ok || op == "" {
		return nil, fmt.Errorf("%s: op is missing or not a string", where)
	}
	where = fmt.Sprintf("%s (op %q)", where, op)
	not, err := boolField(node, "not", false, where)
	if err != nil {
		return nil, err
	}
	caseSensitive, err := boolField(node, "case sensitive", true, where)
	if err != nil {
		return nil, err
	}

	var m matcher
	switch op {
	case "and", "or":
		m, err = compileLogic(node, op, where)
	case "exists":
		var path string
		if path, err = stringField(node, "path", where); err == nil {
			m = &existsOp{path: path}
		}
	case "matches":
		m, err = compileMatches(node, caseSensitive, where)
	case "is", "starts with", "ends with", "contains":
		m, err = compileCompare(node, op, caseSensitive, where)
	default:
		return nil, fmt.Errorf("%s: unknown operator: use and, or, is, starts with, ends with, contains, exists or matches", where)
	}
	if err != nil {
		return nil, err
	}
	if not {
		m = notOp{m}
	}
	return m, nil
}

func compileLogic(node map[string]any, op, where string) (matcher, error) {
	list, ok := node["rules"].([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s: rules must be a non-empty list of operators", where)
	}
	subs := make([]matcher, 0, len(list))
	for i, item := range list {
		child, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: rules[%d] is not an object", where, i)
		}
		m, err := compileNode(child, fmt.Sprintf("%s rules[%d]", where, i))
		if err != nil {
			return nil, err
		}
		subs = append(subs, m)
	}
	return &logicOp{any: op == "or", rules: subs}, nil
}

func compileMatches(node map[string]any, caseSensitive bool, where string) (matcher, error) {
	path, err := stringField(node, "path", where)
	if err != nil {
		return nil, err
	}
	// LimaCharlie names the expression "re"; accept "value" too.
	expr, ok := node["re"].(string)
	if !ok {
		if expr, ok = node["value"].(string); !ok {
			return nil, fmt.Errorf("%s: re (the regular expression) is missing or not a string", where)
		}
	}
	if !caseSensitive {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: bad regular expression: %w", where, err)
	}
	return &matchesOp{path: path, re: re}, nil
}

func compileCompare(node map[string]any, op string, caseSensitive bool, where string) (matcher, error) {
	path, err := stringField(node, "path", where)
	if err != nil {
		return nil, err
	}
	raw, ok := node["value"]
	if !ok {
		return nil, fmt.Errorf("%s: value is missing", where)
	}
	want, ok := scalarString(raw)
	if !ok {
		return nil, fmt.Errorf("%s: value must be a string, number or bool", where)
	}
	c := &compareOp{op: op, path: path, want: want, fold: !caseSensitive}
	if n, isNum := raw.(json.Number); isNum {
		if f, err := n.Float64(); err == nil {
			c.num, c.isNum = f, true
		}
	}
	if c.fold {
		c.want = strings.ToLower(c.want)
	}
	return c, nil
}

func boolField(node map[string]any, key string, def bool, where string) (bool, error) {
	v, ok := node[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: %q must be true or false", where, key)
	}
	return b, nil
}

func stringField(node map[string]any, key, where string) (string, error) {
	s, ok := node[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%s: %s is missing or not a string", where, key)
	}
	return s, nil
}

// scalarString renders a JSON scalar as the text operators compare.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
