package tracking

import "encoding/hex"

// An ID in canonical UUID form — 36 characters, lowercase hex digits in
// groups of 8-4-4-4-12 joined by dashes, as uuid.UUID.String gives — is
// kept as its 16 bytes rather than as a string. Any other ID, an uppercase
// UUID included, is kept as the string it is: IDs compare as strings.

// uuidKey is an ID in UUID form, as the table keeps it.
type uuidKey [16]byte

// parseUUIDKey returns id's bytes if id is in canonical UUID form. It
// reads the digits through a table, without a branch per digit: the index
// lookup around it waits on memory, and a mispredicted branch would throw
// away what the processor does meanwhile (with a branch per digit, Add
// at a million entries measured markedly slower).
func parseUUIDKey(id string) (k uuidKey, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return k, false
	}
	var bad byte
	for j, at := range uuidDigits {
		hi, lo := hexValue[id[at]], hexValue[id[at+1]]
		bad |= hi | lo
		k[j] = hi<<4 | lo
	}
	return k, bad < 0x10
}

// uuidDigits are the places of the 16 pairs of hex digits in the
// canonical form.
var uuidDigits = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

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

// String returns k in canonical form: the ID it was parsed from.
func (k uuidKey) String() string {
	var b [36]byte
	hex.Encode(b[0:8], k[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], k[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], k[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], k[8:10])
	b[23] = '-'
	hex.Encode(b[24:], k[10:])
	return string(b[:])
}
