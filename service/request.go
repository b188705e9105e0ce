package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/tasking"
)

// Request is one webhook delivered to a handler.
type Request struct {
	// OID is the organization; empty for health and once_per_* events.
	OID string
	// MessageID is the cloud's unique id for this message; use it for idempotency.
	MessageID string
	// EventType is the etype of the envelope.
	EventType EventType
	// Deadline is when the handler's context ends: the envelope's deadline,
	// or DefaultDeadline after arrival when the envelope has none, and never
	// more than MaxHandlerTime after arrival.
	Deadline time.Time
	// Data is the raw payload; Decode unmarshals it.
	Data json.RawMessage
	// CommandName is the command invoked, for etype command.
	CommandName string
	// Action is the extension action that delivered the message when the
	// service is served as a LimaCharlie extension (see the extension
	// package); empty on the service protocol.
	Action string

	jwt string

	// logger is derived from base on first use: most requests never log.
	base       *slog.Logger
	loggerOnce sync.Once
	logger     *slog.Logger

	// params holds the request parameters (or command arguments) converted
	// to Go types by the declared schema. For other etypes it is decoded
	// from Data on first use, so routing a large detection decodes nothing.
	paramsOnce sync.Once
	params     map[string]any
}

// NewRequest builds a Request as a handler would receive it, for tests of
// handlers. org may be the zero Org (health and once_per_* events carry
// none); params may be nil.
func NewRequest(etype EventType, org tasking.Org, data json.RawMessage, params map[string]any) *Request {
	r := &Request{OID: org.ID, EventType: etype, Data: data, jwt: org.JWT}
	if params != nil {
		r.setParams(params)
	}
	return r
}

func (r *Request) setParams(p map[string]any) {
	r.paramsOnce.Do(func() { r.params = p })
}

// Param returns the parameter (or command argument, or payload field) name.
// Declared parameters are converted to their Go type: int64, float64, string
// or bool; other fields keep their JSON-decoded form.
func (r *Request) Param(name string) (any, bool) {
	r.paramsOnce.Do(func() {
		r.params = map[string]any{}
		if len(r.Data) > 0 {
			_ = json.Unmarshal(r.Data, &r.params) // a non-object payload has no fields
		}
	})
	v, ok := r.params[name]
	return v, ok
}

// Org returns the organization this message came from, with the JWT the
// platform sent for it: what Task and every API call on the organization's
// behalf take. Its ID is empty for health and once_per_* events. Never log
// the JWT (Org's String prints the id only).
func (r *Request) Org() tasking.Org { return tasking.Org{ID: r.OID, JWT: r.jwt} }

// Logger returns a logger that tags each line with this request's oid, mid
// and etype (and action, when an extension action delivered it).
func (r *Request) Logger() *slog.Logger {
	r.loggerOnce.Do(func() {
		if r.base == nil {
			r.base = slog.New(slog.DiscardHandler)
		}
		l := r.base.With("oid", r.OID, "mid", r.MessageID, "etype", string(r.EventType))
		if r.Action != "" {
			l = l.With("action", r.Action)
		}
		r.logger = l
	})
	return r.logger
}

// Decode unmarshals the payload into v.
func (r *Request) Decode(v any) error {
	if len(r.Data) == 0 {
		return errors.New("request has no data")
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("decoding %s data: %w", r.EventType, err)
	}
	return nil
}

// SID returns the sensor id carried in data (per-sensor ticks, new_sensor,
// and requests with a sid parameter), or "".
func (r *Request) SID() string { return r.String("sid") }

// String returns parameter name as a string, or "" when absent or not a string.
func (r *Request) String(name string) string {
	v, _ := r.Param(name)
	s, _ := v.(string)
	return s
}

// Int returns parameter name as an int64; ok is false when absent or not an int.
func (r *Request) Int(name string) (v int64, ok bool) {
	x, _ := r.Param(name)
	v, ok = x.(int64)
	return v, ok
}

// Float returns parameter name as a float64; ok is false when absent or not a number.
func (r *Request) Float(name string) (v float64, ok bool) {
	x, _ := r.Param(name)
	switch x := x.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Bool returns parameter name as a bool; ok is false when absent or not a bool.
func (r *Request) Bool(name string) (v bool, ok bool) {
	x, _ := r.Param(name)
	v, ok = x.(bool)
	return v, ok
}
