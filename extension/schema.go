package extension

import (
	"sort"
	"strings"

	"github.com/lcsvc/lcservice/service"
)

// Schema is what the extension answers a schema_request with: how
// LimaCharlie shows its configuration and requests, and the events it wants.
type Schema struct {
	ConfigSchema   SchemaObject             `json:"config_schema"`
	RequestSchema  map[string]RequestSchema `json:"request_schema"`
	RequiredEvents []string                 `json:"required_events"`
}

// RequestSchema describes one action.
type RequestSchema struct {
	IsDefault        bool          `json:"is_default,omitempty"`
	Label            string        `json:"label,omitempty"`
	IsUserFacing     bool          `json:"is_user_facing"`
	ShortDescription string        `json:"short_description"`
	LongDescription  string        `json:"long_description"`
	IsImpersonated   bool          `json:"is_impersonated"`
	Parameters       SchemaObject  `json:"parameters"`
	Response         *SchemaObject `json:"response"`
}

// SchemaObject is a set of fields. Requirements is an AND of ORs: every
// inner list names fields of which one must be given.
type SchemaObject struct {
	Fields       map[string]SchemaElement `json:"fields"`
	Requirements [][]string               `json:"requirements"`
}

// SchemaElement describes one field.
type SchemaElement struct {
	Label        string   `json:"label,omitempty"`
	Description  string   `json:"description"`
	DataType     string   `json:"data_type"`
	DisplayIndex int      `json:"display_index,omitempty"`
	EnumValues   []string `json:"enum_values,omitempty"`
}

// Schema returns the extension's schema, built from what the service
// declares now: the request action from its request parameters (when it
// handles requests), one action per command from the command's arguments,
// and the internal actions, not user-facing.
func (t *Transport) Schema() Schema {
	m := t.svc.Metadata()
	actions := map[string]RequestSchema{}
	if m.Implements(service.RequestEvent) {
		actions[t.cfg.requestAction] = RequestSchema{
			IsDefault: true, IsUserFacing: true,
			ShortDescription: t.cfg.requestDesc, LongDescription: t.cfg.requestDesc,
			Parameters: paramsObject(m.RequestParams),
		}
	}
	for _, c := range m.Commands {
		desc := c.Description
		if desc == "" {
			desc = c.Name
		}
		actions[c.Name] = RequestSchema{
			IsUserFacing: true, ShortDescription: desc, LongDescription: desc,
			Parameters: paramsObject(c.Args),
		}
	}
	internal := func(name, desc string) {
		actions[name] = RequestSchema{ShortDescription: desc, LongDescription: desc, Parameters: paramsObject(nil)}
	}
	if len(m.Subscriptions) > 0 && m.Implements(service.Detection) {
		internal(DetectionAction, "a detection the service subscribed to, sent by its D&R rule")
	}
	for _, e := range m.EventTypes {
		if e.Cron() && scheduleEvent(e) != "" {
			internal(TickActionPrefix+string(e), "the "+string(e)+" tick, sent by the service's schedule D&R rule")
		}
	}
	t.mu.RLock()
	for name := range t.actions {
		internal(name, "internal to the framework")
	}
	t.mu.RUnlock()
	return Schema{
		ConfigSchema:   paramsObject(nil),
		RequestSchema:  actions,
		RequiredEvents: []string{EventSubscribe, EventUnsubscribe, EventUpdate},
	}
}

// paramsObject maps a parameter schema to a schema object.
func paramsObject(ps service.Params) SchemaObject {
	o := SchemaObject{Fields: map[string]SchemaElement{}, Requirements: [][]string{}}
	names := make([]string, 0, len(ps))
	for name := range ps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := ps[name]
		o.Fields[name] = paramElement(p)
		if p.Required {
			o.Requirements = append(o.Requirements, []string{name})
		}
	}
	return o
}

// paramElement maps one parameter. The extension protocol has no
// floating-point type: a float parameter is a string field, which the
// service's validation parses as a number (it accepts numbers sent as
// text), and its description says so.
func paramElement(p service.Param) SchemaElement {
	e := SchemaElement{Description: p.Description, DisplayIndex: p.Index}
	switch p.Type {
	case service.ParamStr, service.ParamUUID:
		e.DataType = "string"
	case service.ParamInt:
		e.DataType = "integer"
	case service.ParamBool:
		e.DataType = "bool"
	case service.ParamEnum:
		e.DataType = "enum"
		e.EnumValues = append([]string(nil), p.Values...)
	case service.ParamSID:
		e.DataType = "sid"
	case service.ParamFloat:
		e.DataType = "string"
		e.Description = strings.TrimSpace(e.Description + " (a decimal number)")
	default:
		e.DataType = "string"
	}
	return e
}
