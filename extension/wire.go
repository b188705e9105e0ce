package extension

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

// ProtocolVersion is the extension protocol version this package speaks; it
// is sent in every response.
const ProtocolVersion = 20221218

// SignatureHeader is the request header carrying an extension webhook's
// signature: lowercase hex of HMAC-SHA256(shared secret, body), where body is
// the JSON after any gzip decompression.
const SignatureHeader = "lc-ext-sig"

// orgAccess is the organization a message concerns, with the JWT to act on it.
type orgAccess struct {
	OID   string `json:"oid"`
	JWT   string `json:"jwt"`
	Ident string `json:"ident"`
}

// message is one delivery: a header and exactly one kind of content.
type message struct {
	Version        uint64          `json:"version"`
	IdempotencyKey string          `json:"idempotency_key"`
	Heartbeat      *struct{}       `json:"heartbeat"`
	ErrorReport    *errorReport    `json:"error_report"`
	ConfValidation *confValidation `json:"conf_validation"`
	SchemaRequest  *struct{}       `json:"schema_request"`
	Request        *requestMessage `json:"request"`
	Event          *eventMessage   `json:"event"`
}

type errorReport struct {
	Error string `json:"error"`
	OID   string `json:"oid"`
}

type confValidation struct {
	Org  orgAccess       `json:"org"`
	Conf json.RawMessage `json:"conf"`
}

type requestMessage struct {
	Org    orgAccess       `json:"org"`
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
	Config json.RawMessage `json:"config"`
	InvID  string          `json:"inv_id"`
}

type eventMessage struct {
	Org       orgAccess       `json:"org"`
	EventName string          `json:"event_name"`
	Data      json.RawMessage `json:"data"`
	Config    json.RawMessage `json:"config"`
}

// kind names what a message carries.
type kind string

const (
	kindHeartbeat      kind = "heartbeat"
	kindErrorReport    kind = "error_report"
	kindConfValidation kind = "conf_validation"
	kindSchemaRequest  kind = "schema_request"
	kindRequest        kind = "request"
	kindEvent          kind = "event"
)

// maxKeyLen bounds the idempotency key kept and logged.
const maxKeyLen = 512

var messageFields = []string{"version", "idempotency_key", "heartbeat", "error_report", "conf_validation", "schema_request", "request", "event"}

// decodeMessage parses a verified body, strictly, in one pass: it must be
// a JSON object whose field names, and those of its request, event,
// error_report and conf_validation, are exactly the protocol's (a name
// differing only in case is refused), none given twice, carrying exactly
// one kind of content. The payloads of requests and events stay raw
// slices of the body.
func decodeMessage(body []byte) (*message, kind, error) {
	var m message
	var kinds []kind
	var parts [len(partNames)]*jsonscan.Fields
	// part returns the reader of the part named by a key (a literal),
	// or nil for the members of anything else.
	part := func(rawKey []byte) *jsonscan.Fields {
		key, _ := jsonscan.Unquote(rawKey)
		for i, name := range partNames {
			if string(key) == name {
				if parts[i] == nil {
					parts[i] = m.part(i)
				}
				return parts[i]
			}
		}
		return nil
	}
	top := jsonscan.Fields{What: "message", Names: messageFields, Set: func(i int, v []byte) error {
		name := messageFields[i]
		switch name {
		case "version":
			if string(v) == "null" {
				return nil
			}
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("message field version: %s is not a version number", jsonscan.Quote(v))
			}
			m.Version = n
			return nil
		case "idempotency_key":
			k, err := jsonscan.String("message field idempotency_key", v)
			if err != nil {
				return err
			}
			if len(k) > maxKeyLen {
				return fmt.Errorf("idempotency_key is %d bytes, at most %d expected", len(k), maxKeyLen)
			}
			m.IdempotencyKey = k
			return nil
		}
		if string(v) == "null" {
			return nil
		}
		if v[0] != '{' {
			return fmt.Errorf("message field %s: expected an object, got %s", name, jsonscan.Quote(v))
		}
		kinds = append(kinds, kind(name))
		switch name {
		case "heartbeat":
			m.Heartbeat = &struct{}{}
		case "schema_request":
			m.SchemaRequest = &struct{}{}
		default:
			part([]byte(`"` + name + `"`))
		}
		return nil
	}}
	nested := func(parent, key, value []byte) error {
		if f := part(parent); f != nil {
			return f.Member(key, value)
		}
		return nil
	}
	switch err := jsonscan.ScanNested(body, top.Member, nested); {
	case err == jsonscan.ErrNotObject:
		return nil, "", errors.New("body is not an extension message (a JSON object)")
	case err != nil:
		return nil, "", errors.New("body is not an extension message: not valid JSON")
	case top.Err() != nil:
		return nil, "", top.Err()
	}
	for _, f := range parts {
		if f != nil && f.Err() != nil {
			return nil, "", f.Err()
		}
	}
	switch len(kinds) {
	case 0:
		return nil, "", errors.New("the message carries none of heartbeat, error_report, conf_validation, schema_request, request, event")
	case 1:
	default:
		return nil, "", fmt.Errorf("the message carries %d kinds of content (%v); exactly one expected", len(kinds), kinds)
	}
	return &m, kinds[0], nil
}

// partNames are the parts of a message read member by member.
var partNames = [...]string{"request", "event", "error_report", "conf_validation"}

// part allocates the part numbered i (see partNames) and returns its reader.
func (m *message) part(i int) *jsonscan.Fields {
	switch partNames[i] {
	case "request":
		m.Request = new(requestMessage)
		return m.Request.fields()
	case "event":
		m.Event = new(eventMessage)
		return m.Event.fields()
	case "error_report":
		m.ErrorReport = new(errorReport)
		return m.ErrorReport.fields()
	}
	m.ConfValidation = new(confValidation)
	return m.ConfValidation.fields()
}

var orgFields = []string{"oid", "jwt", "ident"}

func (o *orgAccess) decode(v []byte) error {
	return jsonscan.ReadObject(v, &jsonscan.Fields{What: "org", Names: orgFields, Set: func(i int, v []byte) (err error) {
		s, err := jsonscan.String("org field "+orgFields[i], v)
		switch i {
		case 0:
			o.OID = s
		case 1:
			o.JWT = s
		case 2:
			o.Ident = s
		}
		return err
	}})
}

var requestFields = []string{"org", "action", "data", "config", "inv_id"}

func (r *requestMessage) fields() *jsonscan.Fields {
	return &jsonscan.Fields{What: "request", Names: requestFields, Set: func(i int, v []byte) (err error) {
		switch i {
		case 0:
			return r.Org.decode(v)
		case 1:
			r.Action, err = jsonscan.String("request field action", v)
		case 2:
			r.Data = v
		case 3:
			r.Config = v
		case 4:
			r.InvID, err = jsonscan.String("request field inv_id", v)
		}
		return err
	}}
}

var eventFields = []string{"org", "event_name", "data", "config"}

func (e *eventMessage) fields() *jsonscan.Fields {
	return &jsonscan.Fields{What: "event", Names: eventFields, Set: func(i int, v []byte) (err error) {
		switch i {
		case 0:
			return e.Org.decode(v)
		case 1:
			e.EventName, err = jsonscan.String("event field event_name", v)
		case 2:
			e.Data = v
		case 3:
			e.Config = v
		}
		return err
	}}
}

var errorReportFields = []string{"error", "oid"}

func (r *errorReport) fields() *jsonscan.Fields {
	return &jsonscan.Fields{What: "error_report", Names: errorReportFields, Set: func(i int, v []byte) (err error) {
		s, err := jsonscan.String("error_report field "+errorReportFields[i], v)
		if i == 0 {
			r.Error = s
		} else {
			r.OID = s
		}
		return err
	}}
}

var confValidationFields = []string{"org", "conf"}

func (c *confValidation) fields() *jsonscan.Fields {
	return &jsonscan.Fields{What: "conf_validation", Names: confValidationFields, Set: func(i int, v []byte) error {
		if i == 0 {
			return c.Org.decode(v)
		}
		c.Conf = v
		return nil
	}}
}

// response is the JSON body of an answer.
type response struct {
	Version       uint64          `json:"version"`
	Error         string          `json:"error,omitempty"`
	Retriable     *bool           `json:"retriable,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	Continuations []continuation  `json:"continuations,omitempty"`
}

// continuation asks the platform to deliver action again, with state as its
// data, after InDelaySec seconds.
type continuation struct {
	InDelaySec uint64          `json:"in_delay_sec"`
	Action     string          `json:"action"`
	State      json.RawMessage `json:"state"`
}

// errorBody is the answer to a message refused before any handler ran.
func errorBody(msg string) []byte {
	f := false
	b, _ := json.Marshal(response{Version: ProtocolVersion, Error: msg, Retriable: &f})
	return b
}
