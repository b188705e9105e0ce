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
	"unicode/utf8"
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
// body.
func decodeEnvelope(body []byte, env *envelope) error {
	if !json.Valid(body) {
		return errors.New("body is not valid JSON")
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return errNotObject
	}
	i = skipSpace(body, i+1)
	var seen uint8
	var unknown [maxEnvelopeFields][]byte
	nUnknown := 0
	for fields := 0; body[i] != '}'; fields++ {
		if fields == maxEnvelopeFields {
			return fmt.Errorf("envelope has more than %d fields", maxEnvelopeFields)
		}
		kEnd := skipString(body, i)
		key, err := jsonString(body[i:kEnd])
		if err != nil {
			return err
		}
		i = skipSpace(body, kEnd)
		i = skipSpace(body, i+1) // the colon
		vEnd := skipValue(body, i)
		val := body[i:vEnd]
		i = skipSpace(body, vEnd)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
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
			for _, k := range unknown[:nUnknown] {
				if bytes.Equal(k, key) {
					return fmt.Errorf("envelope field %q appears twice", key)
				}
			}
			unknown[nUnknown] = key
			nUnknown++
			continue
		}
		if seen&(1<<field) != 0 {
			return fmt.Errorf("envelope field %q appears twice", key)
		}
		seen |= 1 << field
		if err := env.set(field, val); err != nil {
			return err
		}
	}
	return nil
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
	s, err := jsonString(val)
	if err != nil {
		return err
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

// jsonString returns the text of the JSON string literal lit (quotes
// included). Literals without escapes and with valid UTF-8 are returned
// as a slice of lit; others are decoded by encoding/json, which replaces
// invalid UTF-8 as it always does.
func jsonString(lit []byte) ([]byte, error) {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return nil, fmt.Errorf("envelope: bad string %s", truncate(lit))
	}
	return []byte(s), nil
}

// The skip functions walk JSON that json.Valid has accepted, so they need
// not check syntax; each returns the index just past what it skipped.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString skips the string literal starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue skips the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// truncate quotes at most 40 bytes of v for an error message.
func truncate(v []byte) string {
	if len(v) > 40 {
		return strconv.Quote(string(v[:40])) + "…"
	}
	return strconv.Quote(string(v))
}
