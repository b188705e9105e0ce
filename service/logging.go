package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// LevelCritical is the slog level of lines an operator must not miss, such as
// a service started without request signature verification.
const LevelCritical = slog.Level(12)

// NewLogHandler returns a slog.Handler that writes one JSON object per line in
// the shape Cloud Logging reads:
//
//	{"service":…, "timestamp":{"seconds":…,"nanos":…}, "severity":…, "message":…, …}
//
// Records below slog.LevelError go to stdout, the others to stderr.
func NewLogHandler(service string, stdout, stderr io.Writer, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: cloudLoggingAttr}
	return splitHandler{
		out: slog.NewJSONHandler(stdout, opts).WithAttrs([]slog.Attr{slog.String("service", service)}),
		err: slog.NewJSONHandler(stderr, opts).WithAttrs([]slog.Attr{slog.String("service", service)}),
	}
}

// cloudLoggingAttr renames slog's built-in keys to Cloud Logging's.
func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		t := a.Value.Time()
		return slog.Group("timestamp", slog.Int64("seconds", t.Unix()), slog.Int("nanos", t.Nanosecond()))
	case slog.LevelKey:
		return slog.String("severity", severity(a.Value.Any().(slog.Level)))
	case slog.MessageKey:
		return slog.String("message", a.Value.String())
	}
	return a
}

func severity(l slog.Level) string {
	switch {
	case l >= LevelCritical:
		return "CRITICAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

// splitHandler sends errors to one handler and everything else to another.
type splitHandler struct{ out, err slog.Handler }

func (h splitHandler) pick(l slog.Level) slog.Handler {
	if l >= slog.LevelError {
		return h.err
	}
	return h.out
}

func (h splitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.pick(l).Enabled(ctx, l)
}

func (h splitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	return h.pick(r.Level).Handle(ctx, r)
}

func (h splitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return splitHandler{out: h.out.WithAttrs(as), err: h.err.WithAttrs(as)}
}

func (h splitHandler) WithGroup(name string) slog.Handler {
	return splitHandler{out: h.out.WithGroup(name), err: h.err.WithGroup(name)}
}

// ParseLogLevel reads a log level name: debug, info, warn (or warning),
// error or critical, in any case. An empty name is info.
func ParseLogLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "critical":
		return LevelCritical, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q: use debug, info, warn or error", name)
}
