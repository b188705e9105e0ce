package token

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzDecode checks that Decode never panics and that its verdicts are
// sound: every error is exactly one of the four kinds, and anything it
// accepts (or finds authentic but expired) re-encodes to the very same
// investigation_id. That last property is the real one: since only Encode
// can produce a valid tag, an input that decodes must be a token Encode
// wrote, field for field — no second spelling, no trailing bytes, no
// tampered field that still verifies — and for the organization and sensor
// it was bound to, not for others.
func FuzzDecode(f *testing.F) {
	c := testCodec(f, "fuzz-svc", "fuzz-secret")
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	id := uuid.MustParse("11111111-2222-4333-8444-555555555555")
	seeds := []Token{
		{ID: id, Expiry: now.Add(time.Hour)},
		{ID: id, Handler: "pkgs", Expiry: now.Add(time.Hour)},
		{ID: id, JobID: "66666666-7777-4888-9999-aaaaaaaaaaaa", Expiry: now.Add(time.Hour)},
		{ID: id, State: []byte("state"), Expiry: now.Add(time.Hour)},
		{ID: id, Handler: "h", JobID: "66666666-7777-4888-9999-aaaaaaaaaaaa", State: make([]byte, MaxStateLen), Expiry: now.Add(time.Hour)},
		{ID: id, Handler: "late", Expiry: now.Add(-time.Hour)},
	}
	for _, tok := range seeds {
		s, err := c.Encode(tok, tOID, tSID)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
		f.Add(s[:len(s)/2])
		f.Add(s[:len(s)-1])
		flipped := []byte(s)
		flipped[len(flipped)-5] ^= 0x01
		f.Add(string(flipped))
		flipped = []byte(s)
		flipped[len(c.Prefix())+3] ^= 0x02
		f.Add(string(flipped))
	}
	f.Add("")
	f.Add(c.Prefix())
	f.Add(c.Prefix() + "====")
	f.Add("svc-other-ex/AQ")

	f.Fuzz(func(t *testing.T, s string) {
		tok, err := c.Decode(s, tOID, tSID, now)
		kinds := 0
		for _, e := range []error{ErrNotOurs, ErrMalformed, ErrBadTag, ErrExpired} {
			if errors.Is(err, e) {
				kinds++
			}
		}
		if err != nil && kinds != 1 {
			t.Fatalf("Decode(%q) error %v matches %d kinds, want exactly 1", s, err, kinds)
		}
		if err != nil && !errors.Is(err, ErrExpired) {
			return
		}
		again, encErr := c.Encode(tok, tOID, tSID)
		if encErr != nil {
			t.Fatalf("Decode(%q) accepted %+v, which Encode refuses: %v", s, tok, encErr)
		}
		if again != s {
			t.Fatalf("Decode(%q) accepted a token that re-encodes as %q", s, again)
		}
		// Bound to its organization and sensor: anywhere else it is forged.
		if _, err := c.Decode(s, tSID, tOID, now); !errors.Is(err, ErrBadTag) {
			t.Fatalf("Decode(%q) for another organization and sensor: %v, want ErrBadTag", s, err)
		}
	})
}
