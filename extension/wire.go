package extension

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// decodeMessage parses a verified body. It must be a JSON object carrying
// exactly one kind of content; the payloads of requests and events stay raw.
func decodeMessage(body []byte) (*message, kind, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, "", errors.New("body is not an extension message (a JSON object)")
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("body is not an extension message: %w", err)
	}
	if len(m.IdempotencyKey) > maxKeyLen {
		return nil, "", fmt.Errorf("idempotency_key is %d bytes, at most %d expected", len(m.IdempotencyKey), maxKeyLen)
	}
	var kinds []kind
	add := func(present bool, k kind) {
		if present {
			kinds = append(kinds, k)
		}
	}
	add(m.Heartbeat != nil, kindHeartbeat)
	add(m.ErrorReport != nil, kindErrorReport)
	add(m.ConfValidation != nil, kindConfValidation)
	add(m.SchemaRequest != nil, kindSchemaRequest)
	add(m.Request != nil, kindRequest)
	add(m.Event != nil, kindEvent)
	switch len(kinds) {
	case 0:
		return nil, "", errors.New("the message carries none of heartbeat, error_report, conf_validation, schema_request, request, event")
	case 1:
	default:
		return nil, "", fmt.Errorf("the message carries %d kinds of content (%v); exactly one expected", len(kinds), kinds)
	}
	return &m, kinds[0], nil
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
