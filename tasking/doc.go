// Package tasking is the small LimaCharlie REST client the lcservice
// framework needs: task a sensor (Client.Task) and put, delete or list a
// D&R rule (PutRule, DeleteRule, ListRules).
//
// Every call acts on one organization, given as an Org: the organization id
// and the JWT the platform sent with the message being handled
// (service.Request.Org returns it). The JWT is sent as a bearer token and is
// never written into an error: if a server echoes it back in a response
// body it is redacted.
//
// One Client serves a whole process: it holds one pooled http.Client, so
// tasks reuse keep-alive connections, and it is safe for concurrent use.
// The base URL is https://api.limacharlie.io unless WithBaseURL says
// otherwise (an emulated cloud, a regional endpoint); give it without the
// /v1 suffix. The package reads no environment variable.
//
// Task sends an x-idempotent-key on every attempt, a random one when the
// caller gives none, so a retried call never tasks a sensor twice. (The
// interactive package gives a key derived from the message being handled,
// so that handling the message again does not task twice either.)
//
// Calls are retried with exponential backoff and full jitter on HTTP 429,
// 5xx and network errors, never on other 4xx. On 429 the server's
// Retry-After or X-RateLimit-Period header sets the wait (capped by the
// maximum delay). Each attempt is bounded (WithAttemptTimeout, 30 s), and
// a call whose context has a deadline ends before it, leaving its caller
// a reserve to answer the webhook it is handling (WithDeadlineReserve:
// 15 s, or half the time left if that is less): a retry never sleeps past
// that point, and an attempt running into it is cut. Failed calls return
// an *APIError that matches ErrUnauthorized, ErrForbidden, ErrNotFound,
// ErrRateLimited or ErrServer with errors.Is, or an error matching
// ErrTimeout when the API did not answer in time. IsTransient tells the
// failures worth trying again later (429, 5xx, timeouts, network errors)
// from the others; service.FailOrRetry answers them with retry.
//
// Rules are stored in Hive (dr-<namespace>) by default, or through the
// legacy /v1/rules endpoints with WithLegacyRules. A Rule carries its detect
// and respond parts as json.RawMessage, so callers build them with whatever
// types they like.
package tasking
