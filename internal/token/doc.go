// Package token writes and reads the correlation tokens the interactive
// layer carries in a task's investigation_id.
//
// A Codec turns a Token (task id, optional handler name, job id and small
// state, expiry) into an investigation_id of the form
// svc-<service>-ex/<token> and back. The token is authenticated with an
// HMAC keyed from the service's shared secret and bound to the service
// name, so an event crafted by anyone in the organization, or a token minted
// for another service, is refused (ErrBadTag) before any of its content is
// trusted. Decode returns the decoded token together with ErrExpired, so a
// caller can tell which task an expired reply belonged to.
package token
