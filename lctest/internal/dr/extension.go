package dr

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ExtRequest is a respond "extension request" action: the platform sends
// the extension Extension a request with Action, whose data the transform
// builds from what the rule matched.
type ExtRequest struct {
	Extension string
	Action    string
	transform []field
}

// field is one key of a transform: a selector or a template.
type field struct {
	key      string
	path     []string // a selector: a dotted path, nil for the whole root
	template []piece  // a template, when not nil
	isTmpl   bool
}

// piece is literal text, or a value rendered in a template.
type piece struct {
	text string
	path []string // rendered when expr
	json bool     // {{ json .x }}: rendered as JSON
	expr bool
}

// compileExtRequest reads an "extension request" action.
//
// Its "extension request" transform maps each key of the request's data
// to a value built from the matched JSON (the event's {routing, event},
// or the detection for a detection rule). The subset implemented:
//
//   - a selector: a dotted path from the root ("event", "routing.sid",
//     "event.FILE_PATH"; "@this" or "." for the root itself) selects that
//     value as JSON, object or scalar; a path that leads nowhere leaves
//     the key out;
//   - a template: text containing {{ .a.b }} (or {{ . }}) renders that
//     value as a string — a string as is, a number or bool as its text,
//     an object or list as JSON — and {{ json .a.b }} as JSON; a missing
//     value renders as the empty string.
func compileExtRequest(a map[string]any, i int) (ExtRequest, error) {
	name, _ := a["extension name"].(string)
	action, _ := a["extension action"].(string)
	if name == "" || action == "" {
		return ExtRequest{}, fmt.Errorf("respond[%d]: an extension request needs an extension name and an extension action", i)
	}
	x := ExtRequest{Extension: name, Action: action}
	raw, ok := a["extension request"]
	if !ok || raw == nil {
		return x, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return ExtRequest{}, fmt.Errorf("respond[%d]: extension request must be an object of key: selector or template", i)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := m[k].(string)
		if !ok {
			return ExtRequest{}, fmt.Errorf("respond[%d]: extension request %q must be a string (a selector or a template)", i, k)
		}
		f, err := compileField(k, v)
		if err != nil {
			return ExtRequest{}, fmt.Errorf("respond[%d]: extension request %q: %w", i, k, err)
		}
		x.transform = append(x.transform, f)
	}
	return x, nil
}

func compileField(key, v string) (field, error) {
	if !strings.Contains(v, "{{") {
		return field{key: key, path: splitDotted(v)}, nil
	}
	f := field{key: key, isTmpl: true}
	rest := v
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			if rest != "" {
				f.template = append(f.template, piece{text: rest})
			}
			return f, nil
		}
		if open > 0 {
			f.template = append(f.template, piece{text: rest[:open]})
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return field{}, fmt.Errorf("template %q: unclosed {{", v)
		}
		expr := strings.TrimSpace(rest[open+2 : open+end])
		p := piece{expr: true}
		if e, ok := strings.CutPrefix(expr, "json "); ok {
			p.json, expr = true, strings.TrimSpace(e)
		}
		if !strings.HasPrefix(expr, ".") {
			return field{}, fmt.Errorf("template %q: only {{ .path }} and {{ json .path }} are supported", v)
		}
		p.path = splitDotted(expr[1:])
		f.template = append(f.template, p)
		rest = rest[open+end+2:]
	}
}

// splitDotted splits a dotted path; the root ("", ".", "@this") is nil.
func splitDotted(p string) []string {
	p = strings.Trim(strings.TrimSpace(p), ".")
	if p == "" || p == "@this" {
		return nil
	}
	return strings.Split(p, ".")
}

// lookup follows path from root; a numeric segment indexes a list.
func lookup(root any, path []string) (any, bool) {
	v := root
	for _, seg := range path {
		next := appendChildren(nil, v, seg)
		if len(next) != 1 || seg == "?" {
			return nil, false
		}
		v = next[0]
	}
	return v, true
}

// Build returns the request data the transform makes of root.
func (x ExtRequest) Build(root any) map[string]any {
	out := map[string]any{}
	for _, f := range x.transform {
		if !f.isTmpl {
			if v, ok := lookup(root, f.path); ok {
				out[f.key] = v
			}
			continue
		}
		var b strings.Builder
		for _, p := range f.template {
			if !p.expr {
				b.WriteString(p.text)
				continue
			}
			v, ok := lookup(root, p.path)
			if !ok {
				continue
			}
			b.WriteString(render(v, p.json))
		}
		out[f.key] = b.String()
	}
	return out
}

// render renders v as a template prints it.
func render(v any, asJSON bool) string {
	if !asJSON {
		switch x := v.(type) {
		case string:
			return x
		case json.Number:
			return x.String()
		case bool:
			if x {
				return "true"
			}
			return "false"
		case nil:
			return ""
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
