package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// SignatureHeader is the request header carrying the webhook signature.
const SignatureHeader = "lc-svc-sig"

// Sign returns the signature of a webhook body: lowercase hex of
// HMAC-SHA256(secret, body). Tools that deliver webhooks use it.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// sigHeaderKey is SignatureHeader as net/http stores it.
var sigHeaderKey = http.CanonicalHeaderKey(SignatureHeader)

var (
	errNoSignature       = errors.New("missing " + SignatureHeader + " header")
	errBadSignature      = errors.New("signature does not match the body: check the shared secret")
	errConflictingHeader = errors.New("several " + SignatureHeader + " headers that disagree")
)

// verify checks the signatures sent (hex, either case) against body in
// constant time. Every signature header present must carry the same
// signature: a request with two that disagree is refused whichever one
// would verify.
func verify(secret, body []byte, sigs []string) error {
	if len(sigs) == 0 || sigs[0] == "" {
		return errNoSignature
	}
	for _, other := range sigs[1:] {
		if !strings.EqualFold(other, sigs[0]) {
			return errConflictingHeader
		}
	}
	var got [sha256.Size]byte
	if hex.DecodedLen(len(sigs[0])) != sha256.Size {
		return errBadSignature
	}
	if _, err := hex.Decode(got[:], []byte(sigs[0])); err != nil {
		return errBadSignature
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	var sum [sha256.Size]byte
	if !hmac.Equal(got[:], m.Sum(sum[:0])) {
		return errBadSignature
	}
	return nil
}

// VerifySignature checks sig — hex (either case) of HMAC-SHA256 over body,
// keyed with the service's shared secret — in constant time. It returns nil
// when it matches, and always when the service runs without a secret
// (WithInsecureNoSecret). Transports verify their webhooks with it, so the
// secret never leaves the Service.
func (s *Service) VerifySignature(body []byte, sig string) error {
	if len(s.secret) == 0 {
		return nil
	}
	if sig == "" {
		return verify(s.secret, body, nil)
	}
	return verify(s.secret, body, []string{sig})
}
