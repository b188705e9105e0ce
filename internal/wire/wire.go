// Package wire is the seam between a service's front door and the webhook
// protocols it serves.
//
// The front door (package service) owns everything a webhook goes through
// before and after a protocol sees it: the body's limits and budget, gzip
// inflation, the signature, refusals, the connection's marking, lazy
// start, de-duplication, panic recovery and writing the answer. A Protocol
// supplies only what differs between protocols: its signature header, how
// a verified body decodes and how a decoded message is answered.
package wire

import (
	"context"
	"time"
)

// Protocol is one webhook protocol served through the front door.
type Protocol interface {
	// Kind names the protocol in logs: "service" or "extension".
	Kind() string
	// Check validates the protocol's configuration once the service is
	// built; an error makes service.New fail.
	Check() error
	// SignatureHeader is the header carrying the body's signature, in
	// canonical form.
	SignatureHeader() string
	// Inflates reports whether gzip-compressed bodies are accepted; the
	// signature is then over the inflated bytes.
	Inflates() bool
	// Unsigned answers a request without a signature header, before any
	// of its body is read; ok false refuses it as unauthenticated.
	Unsigned() (status int, body []byte, ok bool)
	// Decode parses a verified body strictly.
	Decode(body []byte) (Message, error)
	// Answer handles a decoded message.
	Answer(ctx context.Context, m Message) Answer
	// Fail is the answer to a message the front door could not hand to
	// Answer (the service did not start, an earlier delivery is still
	// being handled, a panic).
	Fail(err error, retriable bool) Answer
	// Refusal is the body of a refusal made before a message was decoded
	// (413, 408, 401…), in the protocol's shape.
	Refusal(msg string) []byte
}

// Message is a decoded webhook.
type Message struct {
	// Key identifies the message across deliveries, for de-duplication;
	// empty for a message answered afresh every time.
	Key string
	// Deadline is when the message's handler must have answered.
	Deadline time.Time
	// Value is the protocol's decoded message.
	Value any
}

// Answer is the answer to a message.
type Answer struct {
	Status int
	Body   []byte
	// Keep says a redelivery of the message gets this answer; otherwise
	// (a retriable failure) it is handled again.
	Keep bool
}
