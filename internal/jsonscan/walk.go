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
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := skipString(obj, i)
		key := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		i = skipSpace(obj, i+1) // the colon
		vEnd := Skip(obj, i)
		if !fn(key, obj[i:vEnd]) {
			return true
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return true
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
