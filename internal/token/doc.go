// Package token writes and reads the correlation tokens the interactive
// layer carries in a task's investigation_id.
//
// A Codec turns a Token (task id, optional handler name, job id and small
// state, expiry) into an investigation_id of the form
// svc-<service>-ex/<token> and back. The token is authenticated with an
// HMAC keyed from the service's shared secret and bound to the service
// name and to the organization and sensor the task was sent to (which the
// tag covers without the token carrying them), so an event crafted by
// anyone in the organization, a token minted for another service, and a
// genuine token echoed by another sensor or in another organization are
// all refused (ErrBadTag) before any of the token's content is trusted. Decode returns the decoded token together with ErrExpired, so a
// caller can tell which task an expired reply belonged to.
package token
