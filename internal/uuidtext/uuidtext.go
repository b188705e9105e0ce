// Package uuidtext reads and writes UUIDs in canonical form: 36
// characters, lowercase hex digits in groups of 8-4-4-4-12 joined by
// dashes, as uuid.UUID.String gives. Only that form is read, so that
// writing a UUID read from a string gives the same string back: an
// uppercase UUID, or one in braces, is not in canonical form.
package uuidtext

import "encoding/hex"

// Parse returns the 16 bytes of s if s is a UUID in canonical form, else
// zero bytes and false.
//
// It reads the digits through a table, without a branch per digit: its
// callers look the bytes up in large maps, which wait on memory, and a
// mispredicted branch would throw away what the processor does meanwhile
// (with a branch per digit, a pending store's Add at a million entries
// measured markedly slower).
func Parse(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var bad byte
	for j, at := range digitPairs {
		hi, lo := hexValue[s[at]], hexValue[s[at+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo
	}
	if bad >= 0x10 {
		return [16]byte{}, false
	}
	return u, true
}

// digitPairs are the places of the 16 pairs of hex digits in the
// canonical form.
var digitPairs = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexValue is the value of each lowercase hex digit, and 0xff for every
// other byte.
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

// Format returns u in canonical form.
func Format(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
