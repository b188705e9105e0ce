package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

// ProtocolVersion is the envelope version this package speaks.
const ProtocolVersion = 1

// DefaultDeadline is the time a handler gets when the envelope carries no
// usable deadline (absent, zero or negative): the budget the cloud gives a
// webhook.
const DefaultDeadline = 590 * time.Second

// MaxHandlerTime bounds the time a handler gets, whatever the envelope's
// deadline says: a deadline further away is brought back to now plus
// MaxHandlerTime. The server's write timeout is sized from it.
const MaxHandlerTime = 10 * time.Minute

// maxDeadlineSeconds is the largest deadline accepted, in epoch seconds
// (the last second of year 9999). Anything larger is refused as out of
// range rather than overflowing.
const maxDeadlineSeconds = 253402300799

// maxEnvelopeFields bounds the top-level fields of an envelope (it has
// seven); a body with more is refused.
const maxEnvelopeFields = 32

// envelope is the webhook body the platform posts, as decodeEnvelope reads
// it.
type envelope struct {
	Version  int
	OID      string
	MID      string
	Deadline time.Time // zero when absent or not positive
	JWT      string
	EType    EventType
	Data     json.RawMessage // a slice of the body, never copied
}

// The envelope's fields, by bit in decodeEnvelope's seen mask.
var envelopeFields = [...]string{"version", "oid", "mid", "deadline", "jwt", "etype", "data"}

// errNotObject is the answer to a body that is valid JSON but not an object.
var errNotObject = errors.New("body is not a webhook envelope (a JSON object)")

// decodeEnvelope reads body into env. It is strict where encoding/json is
// lenient, because the body decides what code runs: field names must be
// exactly the protocol's (a name differing only in case is refused, not
// matched), no field may appear twice, and the deadline must be a number
// that fits a time. Unknown fields are ignored. Data keeps pointing into
// body. The body is validated and its fields read in one pass; what
// encoding/json accepts as JSON is accepted, and nothing else.
func decodeEnvelope(body []byte, env *envelope) error {
	r := envelopeReader{env: env}
	switch err := scanObject(body, r.member); {
	case err == jsonscan.ErrNotObject:
		return errNotObject
	case err == jsonscan.ErrSyntax && json.Valid(body):
		// The fast validator refused what encoding/json accepts: go by
		// encoding/json, and read the fields from the validated body.
		r = envelopeReader{env: env}
		if !jsonscan.Members(body, func(k, v []byte) bool { return r.member(k, v) == nil }) {
			return errNotObject
		}
	case err != nil:
		return errors.New("body is not valid JSON")
	}
	return r.err
}

// scanObject validates a body and reads its members (a variable so that
// tests can check the fallback to encoding/json).
var scanObject = jsonscan.ScanObject

// envelopeReader reads an envelope's fields one member at a time. The
// first error is kept, and the members after it ignored, so that a body
// that is not JSON at all is refused as such.
type envelopeReader struct {
	env      *envelope
	err      error
	fields   int
	seen     uint8
	unknown  [maxEnvelopeFields][]byte
	nUnknown int
}

func (r *envelopeReader) member(rawKey, val []byte) error {
	if r.err != nil {
		return nil
	}
	r.err = r.read(rawKey, val)
	return nil
}

func (r *envelopeReader) read(rawKey, val []byte) error {
	if r.fields == maxEnvelopeFields {
		return fmt.Errorf("envelope has more than %d fields", maxEnvelopeFields)
	}
	r.fields++
	key, ok := jsonscan.Unquote(rawKey)
	if !ok {
		return fmt.Errorf("envelope: bad string %s", truncate(rawKey))
	}
	field := -1
	for f, name := range envelopeFields {
		if string(key) == name {
			field = f
			break
		}
		if strings.EqualFold(string(key), name) {
			return fmt.Errorf("envelope field %q: field names are lowercase (%q)", key, name)
		}
	}
	if field < 0 {
		for _, k := range r.unknown[:r.nUnknown] {
			if bytes.Equal(k, key) {
				return fmt.Errorf("envelope field %q appears twice", key)
			}
		}
		r.unknown[r.nUnknown] = key
		r.nUnknown++
		return nil
	}
	if r.seen&(1<<field) != 0 {
		return fmt.Errorf("envelope field %q appears twice", key)
	}
	r.seen |= 1 << field
	return r.env.set(field, val)
}

// set decodes val into the envelope field numbered f (see envelopeFields).
// A null leaves the field at its zero value.
func (env *envelope) set(f int, val []byte) error {
	name := envelopeFields[f]
	if name == "data" {
		env.Data = val
		return nil
	}
	if string(val) == "null" {
		return nil
	}
	switch name {
	case "version":
		v, err := strconv.Atoi(string(val))
		if err != nil {
			return fmt.Errorf("envelope field version: %s is not an integer", truncate(val))
		}
		env.Version = v
		return nil
	case "deadline":
		if val[0] != '-' && (val[0] < '0' || val[0] > '9') {
			return fmt.Errorf("envelope field deadline: expected a number of epoch seconds, got %s", truncate(val))
		}
		d, err := parseDeadline(val)
		if err != nil {
			return err
		}
		env.Deadline = d
		return nil
	}
	if val[0] != '"' {
		return fmt.Errorf("envelope field %s: expected a string, got %s", name, truncate(val))
	}
	s, ok := jsonscan.Unquote(val)
	if !ok {
		return fmt.Errorf("envelope field %s: bad string %s", name, truncate(val))
	}
	switch name {
	case "oid":
		env.OID = string(s)
	case "mid":
		env.MID = string(s)
	case "jwt":
		env.JWT = string(s)
	case "etype":
		env.EType = EventType(s)
	}
	return nil
}

// parseDeadline reads a deadline in epoch seconds, integer or fractional.
// Zero and negative values mean none (the zero time); values past year 9999
// are an error, never a wrapped-around time.
func parseDeadline(num []byte) (time.Time, error) {
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f > maxDeadlineSeconds {
		return time.Time{}, fmt.Errorf("envelope field deadline: %s is out of range (epoch seconds up to %d)", truncate(num), maxDeadlineSeconds)
	}
	if !(f > 0) {
		return time.Time{}, nil
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), nil
}

// truncate quotes at most 40 bytes of v for an error message.
func truncate(v []byte) string {
	if len(v) > 40 {
		return strconv.Quote(string(v[:40])) + "…"
	}
	return strconv.Quote(string(v))
}
