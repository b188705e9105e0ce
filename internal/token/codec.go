package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/google/uuid"
)

// keyLabel derives the token key from the service secret, so the secret
// that signs webhooks is never used directly for another purpose; idLabel
// derives the key of DeriveID.
const (
	keyLabel = "lcservice/correlation/v1"
	idLabel  = "lcservice/task-id/v1"
)

// maxServiceLen bounds the service name a Codec accepts.
const maxServiceLen = 128

var tokenEncoding = base64.RawURLEncoding.Strict()

// Codec writes and reads the correlation tokens of one service. It is safe
// for concurrent use.
type Codec struct {
	prefix string
	key    []byte
	idKey  []byte
}

// NewCodec returns the codec for service, keyed from secret (the service's
// shared secret). Neither may be empty; service must be 1-128 bytes of
// letters, digits, '_', '.' or '-'.
func NewCodec(service string, secret []byte) (*Codec, error) {
	if service == "" {
		return nil, errors.New("token: NewCodec: the service name is empty")
	}
	if len(service) > maxServiceLen || strings.IndexFunc(service, badServiceRune) >= 0 {
		return nil, fmt.Errorf("token: NewCodec: service name %q: use 1-%d letters, digits, '_', '.' or '-'", service, maxServiceLen)
	}
	if len(secret) == 0 {
		return nil, errors.New("token: NewCodec: the secret is empty: tokens would be forgeable; pass the service's shared secret")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return &Codec{prefix: Prefix(service), key: derive(keyLabel), idKey: derive(idLabel + "/" + service)}, nil
}

// DeriveID returns a UUID determined by parts (each length-prefixed, so
// no two lists give the same input) under a key derived from the secret
// and the service name: the same parts give the same UUID in every process
// of the service, and nobody without the secret can predict it. It is a
// version 8 (custom) UUID.
func (c *Codec) DeriveID(parts ...string) uuid.UUID {
	m := hmac.New(sha256.New, c.idKey)
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		m.Write(binary.AppendUvarint(n[:0], uint64(len(p))))
		m.Write([]byte(p))
	}
	var id uuid.UUID
	copy(id[:], m.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id
}

func badServiceRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '.' || r == '-')
}

// Prefix returns the investigation_id prefix of this service's tokens,
// "svc-<service>-ex/".
func (c *Codec) Prefix() string { return c.prefix }

// Encode returns the investigation_id carrying t for a task sent to
// sensor sid of organization oid: Prefix() followed by the token in
// unpadded base64url. t.ID and t.Expiry are required. oid and sid are not
// written into the token (it would grow by both): the tag covers them, so
// the token verifies only where the reply's routing names the same
// organization and sensor (compared without regard to letter case, as
// UUIDs are).
func (c *Codec) Encode(t Token, oid, sid string) (string, error) {
	b, err := appendPayload(make([]byte, 0, 64), t)
	if err != nil {
		return "", err
	}
	b = append(b, c.tag(b, oid, sid)...)
	return c.prefix + tokenEncoding.EncodeToString(b), nil
}

// Decode verifies and reads an investigation_id written by Encode, for a
// reply that came from sensor sid of organization oid (the reply's
// routing). It returns an error matching ErrNotOurs (another prefix),
// ErrMalformed, ErrBadTag (not made with this service's name and secret,
// or for another organization or sensor: the two cannot be told apart) or
// ErrExpired (authentic, but its expiry is before now; the token is
// returned with it). Nothing in the token is trusted before its tag
// verifies.
func (c *Codec) Decode(investigationID, oid, sid string, now time.Time) (Token, error) {
	enc, ok := strings.CutPrefix(investigationID, c.prefix)
	if !ok {
		return Token{}, fmt.Errorf("%w: it does not start with %q", ErrNotOurs, c.prefix)
	}
	if len(enc) > tokenEncoding.EncodedLen(maxTokenLen) {
		return Token{}, fmt.Errorf("%w: %d characters, at most %d expected", ErrMalformed, len(enc), tokenEncoding.EncodedLen(maxTokenLen))
	}
	// The decoder skips newlines; refusing every character outside the
	// alphabet keeps one token, one string.
	if i := strings.IndexFunc(enc, notBase64URL); i >= 0 {
		return Token{}, fmt.Errorf("%w: character %d is not base64url", ErrMalformed, i)
	}
	raw, err := tokenEncoding.DecodeString(enc)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(raw) < minTokenLen {
		return Token{}, fmt.Errorf("%w: %d bytes, at least %d expected", ErrMalformed, len(raw), minTokenLen)
	}
	if raw[0] != tokenVersion {
		return Token{}, fmt.Errorf("%w: version %d, this codec reads %d", ErrMalformed, raw[0], tokenVersion)
	}
	payload, tag := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	if !hmac.Equal(tag, c.tag(payload, oid, sid)) {
		return Token{}, ErrBadTag
	}
	t, err := parsePayload(payload)
	if err != nil {
		return Token{}, err
	}
	if t.Expiry.Before(now) {
		return t, fmt.Errorf("%w at %s", ErrExpired, t.Expiry.Format(time.RFC3339))
	}
	return t, nil
}

// tag authenticates payload under this service's prefix, for organization
// oid and sensor sid: a token moved to another service's investigation_id,
// or echoed by another sensor or in another organization, no longer
// verifies. oid and sid enter the MAC length-prefixed and lower-cased.
func (c *Codec) tag(payload []byte, oid, sid string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(c.prefix))
	m.Write(payload)
	writeBound(m, oid)
	writeBound(m, sid)
	return m.Sum(nil)[:tagLen]
}

// writeBound writes s to the MAC, length first, ASCII letters lower-cased.
func writeBound(m hash.Hash, s string) {
	var buf [binary.MaxVarintLen64 + 64]byte
	b := binary.AppendUvarint(buf[:0], uint64(len(s)))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
		if len(b) == len(buf) {
			m.Write(b)
			b = buf[:0]
		}
	}
	m.Write(b)
}

func notBase64URL(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}
