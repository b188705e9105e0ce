package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// The functions below walk JSON already known to be valid (ScanObject or
// Valid accepted it, or it is a value such a document holds): they find
// where things end without checking syntax again. On text that is not
// valid JSON their results are meaningless, but they never read out of
// bounds or loop forever.

// Members calls fn with the key (the literal, quotes included) and value
// of each member of obj, in order, until fn returns false. obj may be
// surrounded by whitespace. It reports whether obj is an object.
func Members(obj []byte, fn func(key, value []byte) bool) bool {
	return Walk(obj, func(key []byte, v *Value) bool { return fn(key, v.Raw()) })
}

// Walk is Members for a caller that may walk into a member's value (see
// Value) instead of having it skipped: every byte of obj is then read
// once. v is valid only during the call of fn.
func Walk(obj []byte, fn func(key []byte, v *Value) bool) bool {
	_, ok := walk(obj, skipSpace(obj, 0), fn)
	return ok
}

// Value is the value of a member during Walk.
type Value struct {
	b          []byte
	start, end int // end is -1 until known
}

// Raw returns the value's text.
func (v *Value) Raw() []byte {
	if v.end < 0 {
		v.end = Skip(v.b, v.start)
	}
	return v.b[v.start:v.end]
}

// Walk walks the value as an object, as the function Walk does, and
// reports whether it is one. The value's end is found on the way, so Raw
// costs nothing after a Walk that went through every member.
func (v *Value) Walk(fn func(key []byte, v *Value) bool) bool {
	end, ok := walk(v.b, v.start, fn)
	if end >= 0 {
		v.end = end
	}
	return ok
}

// walk walks the object at b[i]. It returns the index just past it, or -1
// when fn stopped the walk, and whether b[i] starts an object.
func walk(b []byte, i int, fn func(key []byte, v *Value) bool) (end int, isObject bool) {
	if i >= len(b) || b[i] != '{' {
		return -1, false
	}
	i = skipSpace(b, i+1)
	v := &Value{b: b}
	for i < len(b) && b[i] == '"' {
		kEnd := skipString(b, i)
		key := b[i:kEnd]
		i = skipSpace(b, kEnd)
		i = skipSpace(b, i+1) // the colon
		v.start, v.end = i, -1
		if !fn(key, v) {
			return -1, true
		}
		i = skipSpace(b, v.skip())
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return min(i+1, len(b)), true // past the '}'
}

// skip returns the index just past the value.
func (v *Value) skip() int {
	v.Raw()
	return v.end
}

// Skip returns the index just past the value that starts at b[i].
func Skip(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipContainer(b, i)
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

// skipContainer skips the array or object that starts at b[i].
func skipContainer(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return i
}

// quoteOrSlash marks the bytes of x that are '"' or '\\' (see special).
func quoteOrSlash(x uint64) uint64 {
	quote := x ^ (lsb * '"')
	slash := x ^ (lsb * '\\')
	return ((quote-lsb) & ^quote | (slash-lsb) & ^slash) & msb
}

// skipString skips the string literal that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	n := len(b)
	i++
	for i < n {
		for i+8 <= n {
			if m := quoteOrSlash(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= n {
			break
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return n
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	return i
}

// Unquote returns the text of the string literal lit, quotes included, as
// encoding/json decodes it (invalid UTF-8 and lone surrogates become
// U+FFFD). A literal without escapes and with valid UTF-8 is returned as
// a slice of lit. ok is false when lit is not a string literal.
func Unquote(lit []byte) (s []byte, ok bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, false
	}
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, true
	}
	var str string
	if json.Unmarshal(lit, &str) != nil {
		return nil, false
	}
	return []byte(str), true
}

// FieldMatches reports whether a member whose key is key (unquoted, see
// Unquote) sets the struct field named name when encoding/json decodes
// into a struct: the exact name, or one equal to it under Unicode case
// folding. It assumes no other field of the struct folds to the same
// name, so that an exact match elsewhere cannot take precedence.
func FieldMatches(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}
