package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// The organization and sensor the test tokens are bound to.
const (
	tOID = "11111111-2222-3333-4444-555555555555"
	tSID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

func testCodec(t testing.TB, service, secret string) *Codec {
	t.Helper()
	c, err := NewCodec(service, []byte(secret))
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

func fullToken() Token {
	return Token{
		ID:      uuid.MustParse("0b6e4c8f-2d1a-4e3b-9c7d-5f6a7b8c9d0e"),
		Handler: "pkgs.v2-x_1",
		JobID:   "a1b2c3d4-e5f6-4789-8abc-def012345678",
		State:   []byte{0, 1, 2, 0xff, 'h', 'i'},
		Expiry:  testNow.Add(time.Hour),
	}
}

func tokensEqual(a, b Token) bool {
	return a.ID == b.ID && a.Handler == b.Handler && a.JobID == b.JobID &&
		bytes.Equal(a.State, b.State) && a.Expiry.Equal(b.Expiry)
}

func TestTokenRoundTrip(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	full := fullToken()
	tests := []struct {
		name string
		tok  Token
	}{
		{"all fields", full},
		{"id and expiry only", Token{ID: full.ID, Expiry: full.Expiry}},
		{"handler only", Token{ID: full.ID, Handler: "h", Expiry: full.Expiry}},
		{"job only", Token{ID: full.ID, JobID: full.JobID, Expiry: full.Expiry}},
		{"state only", Token{ID: full.ID, State: []byte("x"), Expiry: full.Expiry}},
		{"max handler and state", Token{ID: full.ID, Handler: strings.Repeat("h", MaxHandlerLen), State: bytes.Repeat([]byte{7}, MaxStateLen), Expiry: full.Expiry}},
		{"expiry equals now", Token{ID: full.ID, Expiry: testNow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.Encode(tt.tok, tOID, tSID)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !strings.HasPrefix(id, "svc-demo-ex/") {
				t.Errorf("investigation_id %q lacks the prefix", id)
			}
			got, err := c.Decode(id, tOID, tSID, testNow)
			if err != nil {
				t.Fatalf("Decode(%q): %v", id, err)
			}
			if !tokensEqual(got, tt.tok) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.tok)
			}
		})
	}
}

func TestTokenCanonicalForms(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	tok := Token{
		ID:     uuid.New(),
		JobID:  "A1B2C3D4-E5F6-4789-8ABC-DEF012345678",
		State:  []byte{},
		Expiry: time.Date(2030, 1, 1, 0, 0, 0, 999_999_999, time.FixedZone("X", 3600)),
	}
	id, err := c.Encode(tok, tOID, tSID)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := c.Decode(id, tOID, tSID, testNow)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.JobID != strings.ToLower(tok.JobID) {
		t.Errorf("JobID %q, want the canonical lowercase form", got.JobID)
	}
	if got.State != nil {
		t.Errorf("empty State decoded as %v, want nil", got.State)
	}
	if want := tok.Expiry.Truncate(time.Second).UTC(); !got.Expiry.Equal(want) || got.Expiry.Location() != time.UTC {
		t.Errorf("Expiry %v, want %v in UTC", got.Expiry, want)
	}
}

func TestTokenLengthBudget(t *testing.T) {
	service := "abcdefghij-klmnopqrs" // 20 characters
	c := testCodec(t, service, "s3cret")
	id, err := c.Encode(Token{ID: uuid.New(), Handler: "pkgs-run", JobID: uuid.NewString(), Expiry: time.Now().Add(24 * time.Hour)}, tOID, tSID)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	t.Logf("investigation_id with a 20-char service, 8-char handler, job ID, no state: %d bytes: %s", len(id), id)
	if len(id) > 200 {
		t.Errorf("investigation_id is %d bytes, the budget is 200", len(id))
	}
}

func TestEncodeRefuses(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	good := fullToken()
	tests := []struct {
		name   string
		edit   func(*Token)
		want   string
		target error
	}{
		{"nil ID", func(t *Token) { t.ID = uuid.Nil }, "uuid.New()", nil},
		{"handler too long", func(t *Token) { t.Handler = strings.Repeat("h", MaxHandlerLen+1) }, "more than 64", nil},
		{"handler charset", func(t *Token) { t.Handler = "a/b" }, "letters, digits", nil},
		{"job not a UUID", func(t *Token) { t.JobID = "job-1" }, "not a UUID", nil},
		{"state too large", func(t *Token) { t.State = make([]byte, MaxStateLen+1) }, "257 bytes", ErrStateTooLarge},
		{"no expiry", func(t *Token) { t.Expiry = time.Time{} }, "Expiry is not set", nil},
		{"expiry before 1970", func(t *Token) { t.Expiry = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }, "before 1970", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := good
			tt.edit(&tok)
			_, err := c.Encode(tok, tOID, tSID)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one saying %q", err, tt.want)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.target)
			}
		})
	}
	if !strings.Contains(ErrStateTooLarge.Error(), "256") {
		t.Errorf("ErrStateTooLarge does not state the limit: %q", ErrStateTooLarge)
	}
}

func TestNewCodecRefuses(t *testing.T) {
	tests := []struct {
		name, service, secret string
	}{
		{"empty service", "", "s"},
		{"empty secret", "demo", ""},
		{"slash in service", "a/b", "s"},
		{"space in service", "a b", "s"},
		{"long service", strings.Repeat("a", 129), "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewCodec(tt.service, []byte(tt.secret)); err == nil {
				t.Errorf("NewCodec(%q, %q) = %v, want an error", tt.service, tt.secret, c)
			}
		})
	}
	if c := testCodec(t, "demo", "s"); c.Prefix() != "svc-demo-ex/" {
		t.Errorf("Prefix() = %q", c.Prefix())
	}
}

func TestDecodeErrors(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	valid, err := c.Encode(fullToken(), tOID, tSID)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := c.Encode(Token{ID: uuid.New(), Handler: "late", Expiry: testNow.Add(-time.Second)}, tOID, tSID)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, _ := testCodec(t, "demo", "other").Encode(fullToken(), tOID, tSID)
	otherService, _ := testCodec(t, "demo2", "s3cret").Encode(fullToken(), tOID, tSID)
	movedService := "svc-demo-ex/" + strings.TrimPrefix(otherService, "svc-demo2-ex/")
	body := strings.TrimPrefix(valid, c.Prefix())
	raw, _ := tokenEncoding.DecodeString(body)

	// sealed builds a token with a valid tag over arbitrary bytes: only a
	// bug in the signer could produce it, so it must read as malformed.
	sealed := func(payload []byte) string {
		return c.Prefix() + tokenEncoding.EncodeToString(append(payload, c.tag(payload, tOID, tSID)...))
	}
	goodPayload := raw[:len(raw)-tagLen]

	tests := []struct {
		name string
		id   string
		want error
	}{
		{"empty", "", ErrNotOurs},
		{"no prefix", "inv-123", ErrNotOurs},
		{"prefix without slash", "svc-demo-ex" + body, ErrNotOurs},
		{"another service", otherService, ErrNotOurs},
		{"prefix only", c.Prefix(), ErrMalformed},
		{"not base64", c.Prefix() + "!!!!", ErrMalformed},
		{"padded", valid + "==", ErrMalformed},
		{"newline inside", c.Prefix() + body[:10] + "\n" + body[10:], ErrMalformed},
		{"std base64 alphabet", c.Prefix() + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 40)), ErrMalformed},
		{"too short", c.Prefix() + tokenEncoding.EncodeToString(raw[:minTokenLen-1]), ErrMalformed},
		{"truncated", valid[:len(valid)-3], ErrBadTag},
		{"too long", valid + strings.Repeat("A", 1000), ErrMalformed},
		{"unknown version", c.Prefix() + tokenEncoding.EncodeToString(append([]byte{3}, raw[1:]...)), ErrMalformed},
		{"version 1 (unbound)", c.Prefix() + tokenEncoding.EncodeToString(append([]byte{1}, raw[1:]...)), ErrMalformed},
		{"other secret", otherSecret, ErrBadTag},
		{"moved from other service", movedService, ErrBadTag},
		{"tag zeroed", c.Prefix() + tokenEncoding.EncodeToString(append(append([]byte(nil), goodPayload...), make([]byte, tagLen)...)), ErrBadTag},
		{"sealed unknown flag", sealed(append(append([]byte(nil), goodPayload[:17]...), 0x08, 1)), ErrMalformed},
		{"sealed trailing byte", sealed(append(append([]byte(nil), goodPayload...), 0)), ErrMalformed},
		{"sealed empty handler", sealed(append(append([]byte(nil), goodPayload[:17]...), flagHandler, 0, 1)), ErrMalformed},
		{"sealed bad handler byte", sealed(append(append([]byte(nil), goodPayload[:17]...), flagHandler, 1, '/', 1)), ErrMalformed},
		{"sealed zero state", sealed(append(append([]byte(nil), goodPayload[:17]...), flagState, 0, 1)), ErrMalformed},
		{"sealed huge state", sealed(append(append([]byte(nil), goodPayload[:17]...), flagState, 0x81, 0x02, 1)), ErrMalformed},
		{"sealed non-minimal varint", sealed(append(append([]byte(nil), goodPayload[:17]...), 0, 0x81, 0x00)), ErrMalformed},
		{"sealed missing expiry", sealed(append(append([]byte(nil), goodPayload[:17]...), 0)), ErrMalformed},
		{"sealed short job", sealed(append(append([]byte(nil), goodPayload[:17]...), flagJob, 1, 2, 3)), ErrMalformed},
		{"sealed expiry overflow", sealed(append(append([]byte(nil), goodPayload[:17]...), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), ErrMalformed},
		{"expired", expired, ErrExpired},
	}
	all := []error{ErrNotOurs, ErrMalformed, ErrBadTag, ErrExpired}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode(tt.id, tOID, tSID, testNow)
			for _, e := range all {
				if got, want := errors.Is(err, e), e == tt.want; got != want {
					t.Errorf("Decode: error = %v; errors.Is(%v) = %v, want %v", err, e, got, want)
				}
			}
		})
	}
}

// A token verifies only for the organization and sensor it was sent to;
// echoed anywhere else it reads as forged.
func TestTokenBoundToOrgAndSensor(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	id, err := c.Encode(fullToken(), tOID, tSID)
	if err != nil {
		t.Fatal(err)
	}
	const otherOID, otherSID = "99999999-2222-3333-4444-555555555555", "99999999-bbbb-cccc-dddd-eeeeeeeeeeee"
	for _, c2 := range []struct{ name, oid, sid string }{
		{"another organization", otherOID, tSID},
		{"another sensor", tOID, otherSID},
		{"both", otherOID, otherSID},
		{"no organization", "", tSID},
		{"no sensor", tOID, ""},
		{"ids swapped", tSID, tOID},
	} {
		if _, err := c.Decode(id, c2.oid, c2.sid, testNow); !errors.Is(err, ErrBadTag) {
			t.Errorf("%s: %v, want ErrBadTag", c2.name, err)
		}
	}
	if _, err := c.Decode(id, strings.ToUpper(tOID), strings.ToUpper(tSID), testNow); err != nil {
		t.Errorf("upper-case ids: %v", err)
	}
	// Lengths enter the MAC: moving a character from one id to the other
	// does not give the same tag.
	ab, _ := c.Encode(fullToken(), "ab", "c")
	if _, err := c.Decode(ab, "a", "bc", testNow); !errors.Is(err, ErrBadTag) {
		t.Errorf("ids re-split: %v", err)
	}
	long := strings.Repeat("x", 200) // longer than writeBound's buffer
	lid, _ := c.Encode(fullToken(), long, long+"y")
	if _, err := c.Decode(lid, long, long+"y", testNow); err != nil {
		t.Errorf("long ids: %v", err)
	}
	if _, err := c.Decode(lid, long, long+"z", testNow); !errors.Is(err, ErrBadTag) {
		t.Errorf("long ids differing at the end: %v", err)
	}
}

func TestDecodeExpiredReturnsToken(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	tok := fullToken()
	tok.Expiry = testNow.Add(-time.Minute)
	id, err := c.Encode(tok, tOID, tSID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(id, tOID, tSID, testNow)
	if !errors.Is(err, ErrExpired) || !tokensEqual(got, tok) {
		t.Errorf("Decode = %+v, %v; want the token and ErrExpired", got, err)
	}
}

// Flipping any bit of the token, in its text or its bytes, must never yield
// a different valid token.
func TestDecodeRejectsEveryFlip(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	id, err := c.Encode(fullToken(), tOID, tSID)
	if err != nil {
		t.Fatal(err)
	}
	body := id[len(c.Prefix()):]
	raw, _ := tokenEncoding.DecodeString(body)
	check := func(t *testing.T, mutated string) {
		t.Helper()
		_, err := c.Decode(mutated, tOID, tSID, testNow)
		if !errors.Is(err, ErrBadTag) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Decode(%q) = %v, want ErrBadTag or ErrMalformed", mutated, err)
		}
	}
	for i := range raw {
		for bit := range 8 {
			flipped := append([]byte(nil), raw...)
			flipped[i] ^= 1 << bit
			check(t, c.Prefix()+tokenEncoding.EncodeToString(flipped))
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range body {
		for _, ch := range []byte(alphabet) {
			if ch == body[i] {
				continue
			}
			check(t, c.Prefix()+body[:i]+string(ch)+body[i+1:])
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	c := testCodec(b, "benchmark-service", "s3cret")
	tok := fullToken()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(tok, tOID, tSID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	c := testCodec(b, "benchmark-service", "s3cret")
	id, err := c.Encode(fullToken(), tOID, tSID)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(id, tOID, tSID, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeriveID(t *testing.T) {
	c := testCodec(t, "demo", "s3cret")
	a := c.DeriveID("mid-1", "sid", "os_packages", "1")
	if a != c.DeriveID("mid-1", "sid", "os_packages", "1") {
		t.Error("same parts, different ids")
	}
	if a.Version() != 8 || a.Variant() != uuid.RFC4122 {
		t.Errorf("version %d variant %v", a.Version(), a.Variant())
	}
	for _, other := range []uuid.UUID{
		c.DeriveID("mid-1", "sid", "os_packages", "2"),
		c.DeriveID("mid-1sid", "", "os_packages", "1"),
		testCodec(t, "demo", "other secret").DeriveID("mid-1", "sid", "os_packages", "1"),
		testCodec(t, "demo2", "s3cret").DeriveID("mid-1", "sid", "os_packages", "1"),
	} {
		if other == a {
			t.Errorf("different parts, secret or service gave the same id %v", a)
		}
	}
}
