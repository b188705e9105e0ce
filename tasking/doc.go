// Package tasking is the small LimaCharlie REST client the lcservice
// framework needs, plus the correlation-token codec carried in a task's
// investigation_id.
//
// # Client
//
// A Client makes exactly the calls the framework makes: task a sensor
// (Task) and put, delete or list a D&R rule (PutRule, DeleteRule,
// ListRules). One Client serves a whole process: it holds one pooled
// http.Client, so tasks reuse keep-alive connections, and it is safe for
// concurrent use. The base URL defaults to $LC_API_URL when set (an emulated
// cloud, a regional endpoint), else to https://api.limacharlie.io; give it
// without the /v1 suffix.
//
// Each call authenticates with the organization's JWT from the webhook
// envelope (Auth) as a bearer token. That JWT is never written into an
// error: if a server echoes it back in a response body it is redacted.
// Task sends an x-idempotent-key on every attempt, a random one when the
// caller gives none, so a retried call never tasks a sensor twice.
//
// Calls are retried with exponential backoff and full jitter on HTTP 429,
// 5xx and network errors, never on other 4xx. On 429 the server's
// Retry-After or X-RateLimit-Period header sets the wait (capped by the
// maximum delay). A retry never sleeps past the context deadline: when the
// next wait would pass it, the call returns the last error at once. Failed
// calls return an *APIError that matches ErrUnauthorized, ErrForbidden,
// ErrNotFound, ErrRateLimited or ErrServer with errors.Is.
//
// Rules are stored in Hive (dr-<namespace>) by default, or through the
// legacy /v1/rules endpoints with WithLegacyRules. A Rule carries its detect
// and respond parts as json.RawMessage, so callers build them with whatever
// types they like; ReplicantRule builds the rule that routes a service's
// task answers back to it.
//
// # Correlation tokens
//
// A Codec turns a Token (correlation ID, optional handler name, job ID and
// small state, expiry) into an investigation_id of the form
// svc-<service>-ex/<token> and back. The token is authenticated with an
// HMAC keyed from the service secret and bound to the service name, so an
// event crafted by anyone in the organization, or a token minted for another
// service, is refused (ErrBadTag) before any of its content is trusted.
//
// # Choices beyond the brief
//
// Task sends a fresh random x-idempotent-key when the caller gives none, so
// a retried call never tasks a sensor twice. Decode returns the decoded
// token together with ErrExpired, so a caller can tell which task timed out.
package tasking
