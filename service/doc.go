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
// A *Service is an http.Handler: mount it anywhere, or run it with
// ListenAndServe, which adds timeouts sized for the 590 s deadline, a request
// body limit and graceful shutdown on SIGINT/SIGTERM.
//
// Names differ from the design notes where Go reads better: handlers for cron
// event types are registered with OnTick, and the constants for the request
// and command etypes are RequestEvent and CommandEvent, because Request and
// Command name types.
package service
