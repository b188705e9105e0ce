package service

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/google/uuid"
)

// ParamType is the type of a request parameter or command argument.
type ParamType string

// The parameter types the LimaCharlie UI knows.
const (
	ParamInt   ParamType = "int"
	ParamFloat ParamType = "float"
	ParamStr   ParamType = "str"
	ParamBool  ParamType = "bool"
	ParamEnum  ParamType = "enum"
	ParamUUID  ParamType = "uuid"
	ParamSID   ParamType = "sid"
)

// Param describes one request parameter or command argument.
type Param struct {
	Type        ParamType `json:"type"`
	Description string    `json:"desc"`
	Required    bool      `json:"is_required,omitempty"`
	Values      []string  `json:"values,omitempty"` // allowed values of an enum
	Index       int       `json:"index,omitempty"`  // display order in the UI
}

// Params is a parameter schema: parameter name to its description.
type Params map[string]Param

// check reports a schema mistake made by the service author.
func (ps Params) check() error {
	for name, p := range ps {
		switch p.Type {
		case ParamInt, ParamFloat, ParamStr, ParamBool, ParamUUID, ParamSID:
			if len(p.Values) > 0 {
				return fmt.Errorf("parameter %q: values are only for enum parameters", name)
			}
		case ParamEnum:
			if len(p.Values) == 0 {
				return fmt.Errorf("parameter %q: an enum needs its list of values", name)
			}
		default:
			return fmt.Errorf("parameter %q: unknown type %q (use int, float, str, bool, enum, uuid or sid)", name, p.Type)
		}
	}
	return nil
}

// validate checks the fields of an object payload against the schema and
// returns them with declared parameters converted to Go types (int64,
// float64, string, bool); undeclared fields keep their JSON-decoded form. A
// payload that is not an object has no fields. The error names the
// parameter, as the UI shows it.
func (ps Params) validate(data json.RawMessage) (map[string]any, error) {
	out := map[string]any{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil || out == nil {
			out = map[string]any{}
		}
	}
	names := make([]string, 0, len(ps))
	for name := range ps {
		names = append(names, name)
	}
	sort.Strings(names) // report the same parameter first every time
	for _, name := range names {
		p := ps[name]
		v, present := out[name]
		if !present || v == nil {
			if p.Required {
				return nil, fmt.Errorf("missing parameter %s", name)
			}
			continue
		}
		conv, err := p.convert(v)
		if err != nil {
			return nil, fmt.Errorf("invalid parameter %s: %v", name, err)
		}
		out[name] = conv
	}
	return out, nil
}

// convert accepts v as the JSON decoder produced it. Numbers and booleans sent
// as strings are accepted, since form-based callers send everything as text.
func (p Param) convert(v any) (any, error) {
	switch p.Type {
	case ParamInt:
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("%v is not an integer", x)
			}
			return int64(x), nil
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", x)
			}
			return n, nil
		}
	case ParamFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		}
	case ParamBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", x)
			}
			return b, nil
		}
	case ParamStr:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case ParamEnum:
		if s, ok := v.(string); ok {
			if !slices.Contains(p.Values, s) {
				return nil, fmt.Errorf("%q is not one of %v", s, p.Values)
			}
			return s, nil
		}
	case ParamUUID, ParamSID:
		if s, ok := v.(string); ok {
			if !canonicalUUID(s) {
				return nil, fmt.Errorf("%q is not a %s (a UUID written 8-4-4-4-12, e.g. aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee)", s, p.Type)
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("expected %s, got %s", p.Type, jsonKind(v))
}

// canonicalUUID reports whether s is a UUID in its canonical text form:
// 36 characters, hex digits grouped 8-4-4-4-12 by hyphens, either case.
// The other spellings uuid.Parse accepts (urn:uuid:, braces, no hyphens)
// are refused, so a sensor or organization id has one spelling.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}
