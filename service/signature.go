package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

var (
	errNoSignature  = errors.New("missing " + SignatureHeader + " header")
	errBadSignature = errors.New("signature does not match the body: check the shared secret")
)

// verify checks sig (hex, either case) against body in constant time.
func verify(secret, body []byte, sig string) error {
	if sig == "" {
		return errNoSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errBadSignature
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
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
	return verify(s.secret, body, sig)
}
