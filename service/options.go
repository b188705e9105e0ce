package service

import (
	"io"
	"log/slog"
	"time"
)

// Option configures a Service.
type Option func(*Service)

// WithInsecureNoSecret allows an empty shared secret: requests are then
// accepted without signature verification. For local experiments only; every
// start logs a critical line.
func WithInsecureNoSecret() Option { return func(s *Service) { s.insecure = true } }

// WithLogger replaces the default logger (JSON lines to stdout/stderr in the
// shape of NewLogHandler).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithLogOutput keeps the default log shape but writes to the given writers.
func WithLogOutput(stdout, stderr io.Writer) Option {
	return func(s *Service) { s.logOut, s.logErr = stdout, stderr }
}

// WithTrace logs every request and response body, with the JWT redacted.
func WithTrace() Option { return func(s *Service) { s.trace = true } }

// WithMaxBodyBytes sets the largest webhook body accepted (default
// DefaultMaxBodyBytes, 32 MiB). A larger Content-Length is answered 413
// before the body is read; a chunked body is cut off at the limit.
func WithMaxBodyBytes(n int64) Option { return func(s *Service) { s.maxBody = n } }

// WithBodyBudget sets how many bytes of webhook bodies not yet
// authenticated the process holds at once, across all requests (default
// DefaultBodyBudget, 64 MiB, or twice the body limit if that is more). A
// body that finds no room within a second is answered 503 with
// Retry-After. An eighth of the budget is kept for bodies of 64 KiB or
// less. It must leave room for the largest body: at least 8/7 of the body
// limit plus 1 MiB.
func WithBodyBudget(n int64) Option { return func(s *Service) { s.bodyBudget = n } }

// WithMinBodyRate sets the slowest a webhook body may arrive, in bytes per
// second, once its first 5 seconds have passed (default
// DefaultMinBodyRate, 64 KiB/s); a body that pauses for 5 seconds is also
// cut off. Slower bodies are answered 408 and their connection closed.
// It applies when the Service runs its own server (ListenAndServe, Serve).
func WithMinBodyRate(bytesPerSecond int64) Option {
	return func(s *Service) { s.minRate = bytesPerSecond }
}

// WithMaxConnections caps the connections ListenAndServe keeps open
// (default DefaultMaxConnections, 512; lowered to fit the process's
// open-file limit). At the cap, a new connection takes the place of an
// idle one, or of one that has not finished sending an authenticated
// request; see the package documentation's "Limits".
func WithMaxConnections(n int) Option { return func(s *Service) { s.maxConns = n } }

// WithDeliveryStore sets where the service remembers the webhooks it has
// handled, so that a message delivered again (same mid) does not run its
// handler again: default an in-memory NewDeliveryCache(DefaultDedupWindow,
// DefaultDedupEntries, DefaultDedupBytes). A store shared by replicas
// extends this across them. nil turns de-duplication off.
func WithDeliveryStore(d DeliveryStore) Option {
	return func(s *Service) { s.deliveries, s.deliveriesSet = d, true }
}

// WithVersion sets the service version reported in health (default 1).
func WithVersion(v int) Option { return func(s *Service) { s.version = v } }

// WithShutdownTimeout bounds how long ListenAndServe takes to stop once
// asked to (SIGTERM, SIGINT or its context), from the signal to its
// return: the drain delay, in-flight webhooks, background work and
// OnShutdown hooks all fit in it (default DefaultShutdownTimeout, 25 s,
// within Kubernetes' 30 s grace period). Webhooks still running when it is
// nearly spent have their context cancelled, and those that then fail are
// answered retry so the cloud delivers them again.
func WithShutdownTimeout(d time.Duration) Option { return func(s *Service) { s.shutdownTimeout = d } }

// WithDrainDelay sets how long ListenAndServe keeps accepting webhooks
// after it is asked to stop, while /readyz answers 503 so load balancers
// stop sending (default DefaultDrainDelay, 1 s); requests are served as
// usual meanwhile. Zero closes the listener at once. It must be shorter
// than the shutdown timeout.
func WithDrainDelay(d time.Duration) Option { return func(s *Service) { s.drainDelay = d } }

// WithLogLevel sets the lowest level the default logger writes (default
// slog.LevelInfo); see ParseLogLevel. It has no effect with WithLogger.
func WithLogLevel(l slog.Leveler) Option { return func(s *Service) { s.logLevel = l } }

// WithPprof serves net/http/pprof under /debug/pprof/ on its own listener
// at addr, started by ListenAndServe and Serve and closed when they
// return; never on the webhook port. Use a loopback address (for example
// "127.0.0.1:6060"): profiles reveal the process's internals.
func WithPprof(addr string) Option { return func(s *Service) { s.pprofAddr = addr } }
