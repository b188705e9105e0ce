package lctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// SignatureHeader is the request header carrying a webhook's signature.
const SignatureHeader = "lc-svc-sig"

// ProtocolVersion is the envelope version the cloud sends.
const ProtocolVersion = 1

// webhookDeadline is how long a service has to answer, as the envelope's
// deadline says.
const webhookDeadline = 590 * time.Second

// envelope is the JSON body of a webhook.
type envelope struct {
	Version  int             `json:"version"`
	OID      string          `json:"oid,omitempty"`
	MID      string          `json:"mid"`
	Deadline int64           `json:"deadline"` // epoch seconds
	JWT      string          `json:"jwt,omitempty"`
	EType    string          `json:"etype"`
	Data     json.RawMessage `json:"data"`
}

// Sign returns the signature of a webhook body: the lowercase hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether sig is body's signature under secret,
// comparing in constant time. Test handlers standing in for a service use it.
func VerifySignature(secret, body []byte, sig string) bool {
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}
