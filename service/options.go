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

// WithMaxBodyBytes sets the largest webhook body accepted (default 32 MiB);
// larger ones are answered 413.
func WithMaxBodyBytes(n int64) Option { return func(s *Service) { s.maxBody = n } }

// WithVersion sets the service version reported in health (default 1).
func WithVersion(v int) Option { return func(s *Service) { s.version = v } }

// WithShutdownTimeout bounds how long ListenAndServe waits for in-flight
// webhooks and background work when asked to stop (default 10 minutes, a
// little more than the cloud's 590 s deadline).
func WithShutdownTimeout(d time.Duration) Option { return func(s *Service) { s.shutdownTimeout = d } }
