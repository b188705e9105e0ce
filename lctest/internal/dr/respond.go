package dr

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Report is what a respond "report" action makes of a matching event: a
// detection named Name (its cat), with the action's priority and metadata
// (detect_mtd). Every other action is ignored: the emulator has no
// sensors to isolate or tag for real (but see ExtRequest).
type Report struct {
	Name     string
	Priority int            // 0 when the action gives none
	Metadata map[string]any // nil when the action gives none
}

// compileRespond reads the report and extension request actions of a
// rule's respond component: a list of actions, or a single action object.
func compileRespond(raw json.RawMessage) ([]Report, []ExtRequest, error) {
	if len(raw) == 0 {
		return nil, nil, errors.New("respond is missing")
	}
	var v any
	if err := unmarshal(raw, &v); err != nil {
		return nil, nil, fmt.Errorf("respond is not JSON: %w", err)
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
	default:
		return nil, nil, errors.New("respond must be a list of actions, e.g. [{\"action\":\"report\",\"name\":\"my-detection\"}]")
	}
	var reports []Report
	var exts []ExtRequest
	for i, item := range list {
		a, ok := item.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("respond[%d] is not an object", i)
		}
		kind, ok := a["action"].(string)
		if !ok || kind == "" {
			return nil, nil, fmt.Errorf("respond[%d]: action is missing or not a string", i)
		}
		switch kind {
		case "report":
			r, err := compileReport(a, i)
			if err != nil {
				return nil, nil, err
			}
			reports = append(reports, r)
		case "extension request":
			x, err := compileExtRequest(a, i)
			if err != nil {
				return nil, nil, err
			}
			exts = append(exts, x)
		}
	}
	return reports, exts, nil
}

func compileReport(a map[string]any, i int) (Report, error) {
	name, ok := a["name"].(string)
	if !ok || name == "" {
		return Report{}, fmt.Errorf("respond[%d]: a report needs a name (the detection category)", i)
	}
	r := Report{Name: name}
	if v, ok := a["priority"]; ok {
		n, isNum := v.(json.Number)
		p, err := n.Int64()
		if !isNum || err != nil {
			return Report{}, fmt.Errorf("respond[%d]: priority must be an integer", i)
		}
		r.Priority = int(p)
	}
	if v, ok := a["metadata"]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			return Report{}, fmt.Errorf("respond[%d]: metadata must be an object", i)
		}
		r.Metadata = m
	}
	return r, nil
}
