// Package jsonscan validates and walks JSON text without decoding it.
//
// It exists so that a webhook body is touched as few times as possible:
// ScanObject validates a document and hands over the members of its
// top-level object in the same pass, and Members and Walk go through an
// object already known to be valid without checking it again. Valid
// accepts exactly what encoding/json's Valid accepts (invalid UTF-8 inside
// strings included, nesting up to encoding/json's limit of 10000), only
// faster. For answers, AppendString and AppendCompact write into one
// buffer what encoding/json would write.
package jsonscan

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// MaxDepth is the deepest nesting of arrays and objects accepted, as in
// encoding/json.
const MaxDepth = 10000

var (
	// ErrSyntax is returned for text that is not one valid JSON value.
	ErrSyntax = errors.New("not valid JSON")
	// ErrNotObject is returned by ScanObject for valid JSON that is not an
	// object.
	ErrNotObject = errors.New("not a JSON object")
)

// Valid reports whether b is one valid JSON value, surrounded by nothing
// but whitespace, under the rules of encoding/json's Valid.
func Valid(b []byte) bool {
	err := scan(b, nil, nil)
	return err == nil || err == ErrNotObject
}

// ScanObject validates b and, if it is an object, calls member with the
// key (the string literal, quotes included: see Unquote) and the value of
// each of its members, in order, as soon as the member has been
// validated; the slices point into b. An error from member stops the
// scan and is returned as is. The result is ErrSyntax when b is not valid
// JSON (members already handed over may then belong to a document that is
// refused), and ErrNotObject when it is valid but not an object.
func ScanObject(b []byte, member func(key, value []byte) error) error {
	if member == nil {
		member = func(_, _ []byte) error { return nil }
	}
	return scan(b, member, nil)
}

// ScanNested is ScanObject that also calls nested with the members of the
// objects that are values of b's members, as soon as each is validated:
// parent is the key of the member whose value holds them (a literal, as
// key is). A member's nested members are handed over before the member
// itself.
func ScanNested(b []byte, member func(key, value []byte) error, nested func(parent, key, value []byte) error) error {
	if member == nil {
		member = func(_, _ []byte) error { return nil }
	}
	return scan(b, member, nested)
}

// isSpace marks JSON whitespace.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns a word whose high bits mark the bytes of x that end a
// string's plain run: '"', '\\' and control characters. Bits above the
// lowest marked byte may be set spuriously; the lowest is exact, and no
// bit is set when no byte qualifies.
func special(x uint64) uint64 {
	quote := x ^ (lsb * '"')
	slash := x ^ (lsb * '\\')
	return ((quote-lsb) & ^quote | (slash-lsb) & ^slash | (x - lsb*0x20)) & ^x & msb
}

// scan validates b. When member is not nil and b is an object, it is
// called for each top-level member.
func scan(b []byte, member func(key, value []byte) error, nested func(parent, key, value []byte) error) error {
	// One bit per open container: set for an object.
	var stack [MaxDepth/64 + 1]uint64
	depth := 0
	i, n := 0, len(b)
	object := false // b is an object: its members go to member
	keyStart, keyEnd, valStart := 0, 0, 0
	nKeyStart, nKeyEnd, nValStart := 0, 0, 0 // of a member at depth 2

value:
	for i < n && isSpace[b[i]] {
		i++
	}
	if i >= n {
		return ErrSyntax
	}
	switch depth {
	case 1:
		valStart = i
	case 2:
		nValStart = i
	}
	switch c := b[i]; c {
	case '{':
		if depth == MaxDepth {
			return ErrSyntax
		}
		if depth == 0 {
			object = true
		}
		stack[depth>>6] |= 1 << (depth & 63)
		depth++
		i++
		for i < n && isSpace[b[i]] {
			i++
		}
		if i < n && b[i] == '}' {
			depth--
			i++
			goto after
		}
		goto key
	case '[':
		if depth == MaxDepth {
			return ErrSyntax
		}
		stack[depth>>6] &^= 1 << (depth & 63)
		depth++
		i++
		for i < n && isSpace[b[i]] {
			i++
		}
		if i < n && b[i] == ']' {
			depth--
			i++
			goto after
		}
		goto value
	case '"':
		end := scanString(b, i)
		if end < 0 {
			return ErrSyntax
		}
		i = end
	case 't':
		if n-i < 4 || b[i+1] != 'r' || b[i+2] != 'u' || b[i+3] != 'e' {
			return ErrSyntax
		}
		i += 4
	case 'f':
		if n-i < 5 || b[i+1] != 'a' || b[i+2] != 'l' || b[i+3] != 's' || b[i+4] != 'e' {
			return ErrSyntax
		}
		i += 5
	case 'n':
		if n-i < 4 || b[i+1] != 'u' || b[i+2] != 'l' || b[i+3] != 'l' {
			return ErrSyntax
		}
		i += 4
	default:
		end := scanNumber(b, i)
		if end < 0 {
			return ErrSyntax
		}
		i = end
	}

after: // a value ends at i
	if depth == 0 {
		for i < n && isSpace[b[i]] {
			i++
		}
		if i != n {
			return ErrSyntax
		}
		if !object {
			return ErrNotObject
		}
		return nil
	}
	if depth == 1 && object && member != nil {
		if err := member(b[keyStart:keyEnd], b[valStart:i]); err != nil {
			return err
		}
	}
	if depth == 2 && object && nested != nil && stack[0]&2 != 0 {
		if err := nested(b[keyStart:keyEnd], b[nKeyStart:nKeyEnd], b[nValStart:i]); err != nil {
			return err
		}
	}
	for i < n && isSpace[b[i]] {
		i++
	}
	if i >= n {
		return ErrSyntax
	}
	switch b[i] {
	case ',':
		i++
		if stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0 {
			goto key
		}
		goto value
	case '}':
		if stack[(depth-1)>>6]&(1<<((depth-1)&63)) == 0 {
			return ErrSyntax
		}
		depth--
		i++
		goto after
	case ']':
		if stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0 {
			return ErrSyntax
		}
		depth--
		i++
		goto after
	}
	return ErrSyntax

key: // a member's key is due at i
	for i < n && isSpace[b[i]] {
		i++
	}
	if i >= n || b[i] != '"' {
		return ErrSyntax
	}
	{
		end := scanString(b, i)
		if end < 0 {
			return ErrSyntax
		}
		switch depth {
		case 1:
			keyStart, keyEnd = i, end
		case 2:
			nKeyStart, nKeyEnd = i, end
		}
		i = end
	}
	for i < n && isSpace[b[i]] {
		i++
	}
	if i >= n || b[i] != ':' {
		return ErrSyntax
	}
	i++
	goto value
}

// scanString validates the string literal at b[i] == '"' and returns the
// index just past it, or -1. Like encoding/json, it accepts any bytes but
// control characters and checks escapes, not UTF-8.
func scanString(b []byte, i int) int {
	n := len(b)
	i++
	for {
		for i+8 <= n {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto slow
			}
			i += 8
		}
	slow:
		if i >= n {
			return -1
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= n {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if n-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber validates the number at b[i] and returns the index just
// past it, or -1.
func scanNumber(b []byte, i int) int {
	n := len(b)
	if b[i] == '-' {
		i++
		if i >= n {
			return -1
		}
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < n && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || !isDigit(b[i]) {
			return -1
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || !isDigit(b[i]) {
			return -1
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	return i
}
