// Package service is the base layer of lcservice: a LimaCharlie service is an
// HTTP webhook receiver that the LimaCharlie cloud calls when an organization
// installs it, when a detection it subscribed to fires, when a user makes a
// request, on cron ticks, and so on.
//
// A Service verifies each webhook's signature over the raw body, decodes the
// envelope, answers health with its metadata, validates request parameters and
// command arguments against the declared schemas, serves published resources,
// and calls the handler registered for the event type with a context that ends
// at the envelope's deadline. A panicking handler is recovered and answered
// with retry=true; the process keeps serving.
//
// # Handlers
//
// A handler is a HandlerFunc: it gets the Request (the organization, the
// message id, the payload, the validated parameters) and returns a
// Response built with OK, Fail or Retry, optionally carrying jobs. Register
// handlers with Handle or the On… methods (OnTick for the cron event types,
// whose constants are OrgPer1h and so on; the request and command event
// types are RequestEvent and CommandEvent, because Request and Command name
// types). Request.Org returns the organization and its JWT as one value,
// which is what the REST client and the interactive layer take.
//
// Registration happens before serving. Like net/http's ServeMux, the
// registration methods panic on a programming error (a nil handler, an
// unknown event type, an invalid schema) with a message that says what to
// change. Use adds middleware: around every event type, or around the
// event types it names, which then count as implemented.
//
// # Serving
//
// A *Service is an http.Handler: mount it anywhere (a Cloud Function, an
// existing mux), or run it with ListenAndServe, which adds the connection
// and timeout limits below, GET /healthz (liveness) and GET /readyz
// (readiness) for probes, and graceful shutdown on SIGINT/SIGTERM (see
// Serve). Startup hooks (OnStartup) run before the first webhook is
// handled; a failed start is tried again by the next webhook.
//
// A webhook's answer, retry or not, is what its handler returns. Failures
// of the LimaCharlie API that may pass (rate limits, server errors,
// timeouts, dropped connections) are best answered with FailOrRetry, so the
// cloud delivers the event again instead of the work being lost.
//
// # Observability
//
// Each Service keeps Prometheus metrics in a registry of its own (no
// global state): webhooks by event type and outcome with their latency,
// and, read from Stats at scrape time, signature and limit refusals,
// redeliveries and connections. ListenAndServe and Serve answer GET
// /metrics with them unless WithoutMetrics is given; MetricsHandler serves
// them anywhere else, and RegisterMetrics adds collectors (the interactive
// package adds its own and its API calls'). A webhook not answered success
// is logged once with its reason, etype, oid and mid, never the JWT;
// WithLogLevel sets the lowest level logged (ParseLogLevel reads one).
// WithPprof serves net/http/pprof on a listener of its own while Serve
// runs.
//
// # Deliveries
//
// The cloud may deliver a message more than once (same mid). A delivery
// that arrives while an earlier one of the same message is being handled
// waits for that answer (until either's deadline; then it is answered
// retry); one that arrives later, within an hour, gets the earlier answer
// without the handler running again. An answer asking for a retry is not
// kept, so the redelivery it asks for runs the handler. The answers are
// kept in memory (WithDeliveryStore: a store shared by replicas, such as
// tracking.RedisDeliveries, extends this across them; nil turns it off). Health is never de-duplicated.
//
// # Deadlines
//
// A handler's context ends at the envelope's deadline (epoch seconds). A
// missing, zero or negative deadline gives the handler DefaultDeadline
// (590 s, the cloud's usual budget); a deadline more than MaxHandlerTime
// (10 min) away is brought back to that; one that does not fit a time
// (past year 9999) is answered 400.
//
// # Limits
//
// Anyone who can reach the service can send it bytes; only the cloud can
// sign them. Until a request's signature is checked, what it may cost is
// bounded, and every bound has a default and an option:
//
//	signature          a request without the signature header is answered
//	                   401 (on extensions, 200 {}) before its body is read.
//	body size          32 MiB (DefaultMaxBodyBytes, WithMaxBodyBytes): a larger
//	                   Content-Length is answered 413 before the body is
//	                   read; a chunked body is cut at the limit, and so is
//	                   a gzip-compressed one (extensions) as it inflates.
//	body budget        64 MiB, or twice the body limit if more (DefaultBodyBudget,
//	                   WithBodyBudget): bytes of bodies not yet authenticated
//	                   held at once by the whole process; a body that finds no
//	                   room within 1 s is answered 503 with Retry-After: 2. An
//	                   eighth is kept for bodies of 64 KiB or less, so stalled
//	                   large uploads cannot crowd out ordinary webhooks. A body
//	                   stops counting once its signature is checked.
//	body rate          64 KiB/s after the first 5 s (DefaultMinBodyRate,
//	                   WithMinBodyRate), and no pause of 5 s or more: a slower
//	                   body is answered 408 and its connection closed.
//	headers            5 s to send them (net/http's limit of 1 MiB applies).
//	connections        512 open at once (DefaultMaxConnections, WithMaxConnections),
//	                   lowered to leave 64 of the process's open-file limit.
//	                   At the cap a new connection takes the place of the
//	                   oldest idle one, else of the oldest whose request is not
//	                   authenticated yet; one serving an authenticated webhook
//	                   is never closed (when all are, new ones wait in the
//	                   kernel's queue).
//	idle connections   closed after 60 s.
//	answer             written within MaxHandlerTime + 30 s.
//	shutdown           25 s in all (DefaultShutdownTimeout, WithShutdownTimeout),
//	                   of which 1 s unready before the listener closes
//	                   (DefaultDrainDelay, WithDrainDelay).
//	warnings           refused signatures (and, in the interactive package,
//	                   refused and orphan replies) are logged at most once
//	                   every 10 s each, with the count of those not logged.
//
// Stats counts what was refused or absorbed. Mounted in another server, a
// Service still applies the body limit and the budget; the rate, the
// connection cap and the timeouts are then that server's to set.
//
// # Other protocols
//
// The same handlers can be served over the extension protocol: the
// extension package's Serve option makes the service a LimaCharlie
// extension. Either protocol's webhooks go through the same front door —
// the limits above, decompression, the signature (lc-svc-sig or
// lc-ext-sig), strict decoding, de-duplication, panic recovery — and the
// same handlers. Metadata describes what the service declares, for the
// extension to describe it in its own terms.
//
// # Environment
//
// The package reads one environment variable, in one place: ListenAndServe
// with an empty address listens on $PORT (8080 when unset). Everything else
// — the shared secret, the API URL — is passed in by the program, which may
// read it from wherever it likes.
package service
