package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/refractionPOINT/go-limacharlie/limacharlie"
)

// ProtocolVersion is the envelope version this package speaks.
const ProtocolVersion = 1

// envelope is the webhook body of PROTOCOL.md §1.
type envelope struct {
	Version  int             `json:"version"`
	OID      string          `json:"oid"`
	MID      string          `json:"mid"`
	Deadline float64         `json:"deadline"`
	JWT      string          `json:"jwt"`
	EType    EventType       `json:"etype"`
	Data     json.RawMessage `json:"data"`
}

// Request is one webhook delivered to a handler.
type Request struct {
	// OID is the organization; empty for health and once_per_* events.
	OID string
	// MessageID is the cloud's unique id for this message; use it for idempotency.
	MessageID string
	// EventType is the etype of the envelope.
	EventType EventType
	// Deadline is when the cloud stops waiting for the answer (zero if unset).
	Deadline time.Time
	// Data is the raw payload; Decode unmarshals it.
	Data json.RawMessage
	// CommandName is the command invoked, for etype command.
	CommandName string

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

	orgOnce sync.Once
	org     *limacharlie.Organization
	orgErr  error
}

// NewRequest builds a Request as a handler would receive it, for tests of
// handlers and for frameworks layered on this package. params may be nil.
func NewRequest(etype EventType, oid, jwt string, data json.RawMessage, params map[string]any) *Request {
	r := &Request{OID: oid, EventType: etype, Data: data, jwt: jwt}
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

// JWT returns the organization's JWT from the envelope, for calls to the
// LimaCharlie API on this organization's behalf. Never log it.
func (r *Request) JWT() string { return r.jwt }

// Logger returns a logger that tags each line with this request's oid, mid and etype.
func (r *Request) Logger() *slog.Logger {
	r.loggerOnce.Do(func() {
		if r.base == nil {
			r.base = slog.New(slog.DiscardHandler)
		}
		r.logger = r.base.With("oid", r.OID, "mid", r.MessageID, "etype", string(r.EventType))
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

// Org returns a go-limacharlie Organization authenticated with this request's
// JWT, built on first use. It is for user code that wants the full SDK; note
// that its API address is fixed by the SDK.
func (r *Request) Org() (*limacharlie.Organization, error) {
	r.orgOnce.Do(func() {
		if r.OID == "" || r.jwt == "" {
			r.orgErr = fmt.Errorf("%s events carry no organization credentials", r.EventType)
			return
		}
		c, err := limacharlie.NewClientFromLoader(limacharlie.ClientOptions{OID: r.OID, JWT: r.jwt}, &limacharlie.LCLoggerEmpty{})
		if err != nil {
			r.orgErr = fmt.Errorf("building LimaCharlie client for org %s: %w", r.OID, err)
			return
		}
		r.org, r.orgErr = limacharlie.NewOrganization(c)
	})
	return r.org, r.orgErr
}

// epochSeconds converts the envelope deadline (seconds, int or float).
func epochSeconds(s float64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}
