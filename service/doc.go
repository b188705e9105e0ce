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
// existing mux), or run it with ListenAndServe, which adds timeouts sized for
// the cloud's 590 s deadline, a request body limit, GET /healthz for probes,
// and graceful shutdown on SIGINT/SIGTERM. Startup hooks (OnStartup) run
// before the first webhook is handled; a failed start is tried again by the
// next webhook.
//
// # Other protocols
//
// The same handlers can be served over another webhook protocol: WithTransport
// hands webhook POSTs to a Transport (the extension package serves the
// service as a LimaCharlie extension), which decodes each message into a
// Request and calls Dispatch. Metadata describes what the service declares,
// for the transport to describe it in its own terms.
//
// # Environment
//
// The package reads one environment variable, in one place: ListenAndServe
// with an empty address listens on $PORT (8080 when unset). Everything else
// — the shared secret, the API URL — is passed in by the program, which may
// read it from wherever it likes.
package service
