package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

var errBadSignature = errors.New("signature does not match the body: check the shared secret")

func errNoSignature(header string) error {
	return errors.New("missing " + strings.ToLower(header) + " header")
}

// verify checks the signatures sent (hex, either case) against body in
// constant time. Every signature header present must carry the same
// signature: a request with two that disagree is refused whichever one
// would verify.
func verify(secret, body []byte, sigs []string, header string) error {
	if len(sigs) == 0 || sigs[0] == "" {
		return errNoSignature(header)
	}
	for _, other := range sigs[1:] {
		if !strings.EqualFold(other, sigs[0]) {
			return errors.New("several " + strings.ToLower(header) + " headers that disagree")
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
