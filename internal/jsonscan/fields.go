package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Fields reads the members of an object into known fields, strictly: a
// member's name must be exactly one of Names (a name equal to one under
// case folding is refused, not matched, as encoding/json would match it),
// no name may appear twice, and the object may hold at most Max members.
// Members with other names are ignored. Its Member method has the shape
// ScanObject and Members call, so a document can be validated and read in
// one pass.
type Fields struct {
	// What names the object in errors ("envelope", "request").
	What string
	// Names are the known fields; Set receives their index.
	Names []string
	// Max bounds the members (default 32).
	Max int
	// Set stores the value of the known field numbered i. A null value is
	// passed on like any other.
	Set func(i int, value []byte) error

	err     error
	n       int
	seen    uint64
	unknown [][]byte
}

// Member reads one member (key as a literal, quotes included). It always
// returns nil, so that ScanObject keeps validating; the first error is
// kept, for Err.
func (f *Fields) Member(rawKey, value []byte) error {
	if f.err == nil {
		f.err = f.read(rawKey, value)
	}
	return nil
}

// Err returns the first error a member caused.
func (f *Fields) Err() error { return f.err }

func (f *Fields) read(rawKey, value []byte) error {
	limit := f.Max
	if limit <= 0 {
		limit = 32
	}
	if f.n == limit {
		return fmt.Errorf("%s has more than %d fields", f.What, limit)
	}
	f.n++
	key, ok := Unquote(rawKey)
	if !ok {
		return fmt.Errorf("%s: bad field name %s", f.What, Quote(rawKey))
	}
	for i, name := range f.Names {
		if string(key) == name {
			if f.seen&(1<<i) != 0 {
				return fmt.Errorf("%s field %q appears twice", f.What, key)
			}
			f.seen |= 1 << i
			return f.Set(i, value)
		}
		if bytes.EqualFold(key, []byte(name)) {
			return fmt.Errorf("%s field %q: field names are lowercase (%q)", f.What, key, name)
		}
	}
	for _, k := range f.unknown {
		if bytes.Equal(k, key) {
			return fmt.Errorf("%s field %q appears twice", f.What, key)
		}
	}
	f.unknown = append(f.unknown, key)
	return nil
}

// ReadObject reads obj, already known to be valid JSON, with f. A null
// reads as an empty object.
func ReadObject(obj []byte, f *Fields) error {
	if string(obj) == "null" {
		return nil
	}
	if !Members(obj, func(k, v []byte) bool { return f.Member(k, v) == nil && f.err == nil }) {
		return errors.New(f.What + " is not a JSON object")
	}
	return f.err
}

// String decodes a string value; null is the empty string.
func String(what string, value []byte) (string, error) {
	if string(value) == "null" {
		return "", nil
	}
	s, ok := Unquote(value)
	if !ok {
		return "", fmt.Errorf("%s: expected a string, got %s", what, Quote(value))
	}
	return string(s), nil
}

// Quote quotes at most 40 bytes of v for an error message.
func Quote(v []byte) string {
	if len(v) > 40 {
		return strconv.Quote(string(v[:40])) + "…"
	}
	return strconv.Quote(string(v))
}
