package lctest

import (
	"encoding/json"
	"errors"
	"fmt"
)

// reportAction is a respond "report" action; the cloud ignores every other
// action (it has no sensors to isolate or tag for real).
type reportAction struct {
	name     string
	priority *int
	metadata map[string]any
}

// compileRespond reads the report actions of a rule's respond component:
// a list of actions, or a single action object.
func compileRespond(raw json.RawMessage) ([]reportAction, error) {
	if len(raw) == 0 {
		return nil, errors.New("respond is missing")
	}
	var v any
	if err := unmarshalNumbers(raw, &v); err != nil {
		return nil, fmt.Errorf("respond is not JSON: %w", err)
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
	default:
		return nil, errors.New("respond must be a list of actions, e.g. [{\"action\":\"report\",\"name\":\"my-detection\"}]")
	}
	var reports []reportAction
	for i, item := range list {
		a, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("respond[%d] is not an object", i)
		}
		kind, ok := a["action"].(string)
		if !ok || kind == "" {
			return nil, fmt.Errorf("respond[%d]: action is missing or not a string", i)
		}
		if kind != "report" {
			continue
		}
		r, err := compileReport(a, i)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

func compileReport(a map[string]any, i int) (reportAction, error) {
	name, ok := a["name"].(string)
	if !ok || name == "" {
		return reportAction{}, fmt.Errorf("respond[%d]: a report needs a name (the detection category)", i)
	}
	r := reportAction{name: name}
	if v, ok := a["priority"]; ok {
		n, isNum := v.(json.Number)
		p, err := n.Int64()
		if !isNum || err != nil {
			return reportAction{}, fmt.Errorf("respond[%d]: priority must be an integer", i)
		}
		pi := int(p)
		r.priority = &pi
	}
	if v, ok := a["metadata"]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			return reportAction{}, fmt.Errorf("respond[%d]: metadata must be an object", i)
		}
		r.metadata = m
	}
	return r, nil
}
