package service

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
)

// dispatch answers one verified, parsed envelope.
func (s *Service) dispatch(ctx context.Context, env *envelope) Response {
	if env.Version > ProtocolVersion {
		return Failf("unsupported protocol version %d: this service speaks version %d; upgrade lcservice", env.Version, ProtocolVersion)
	}
	if env.EType == "" {
		return Failf("missing etype")
	}
	req := &Request{
		OID:       env.OID,
		MessageID: env.MID,
		EventType: env.EType,
		Deadline:  handlerDeadline(env.Deadline, time.Now()),
		Data:      env.Data,
		jwt:       env.JWT,
		base:      s.log,
	}
	return s.serve(ctx, req)
}

// dispatchRequest answers a message another protocol has decoded into req
// (its MessageID, Deadline and Action set as the message says): it bounds
// ctx by req.Deadline when set, validates request parameters and command
// arguments, and runs the middleware and handler of req.EventType, turning
// a panic into a retryable failure. An event type without a handler is
// answered "not implemented".
func (s *Service) dispatchRequest(ctx context.Context, req *Request) Response {
	if req == nil || req.EventType == "" {
		return Failf("missing event type")
	}
	if req.base == nil {
		req.base = s.log
	}
	return s.serve(ctx, req)
}

// serve runs req's handler, counts it in the metrics and logs a failure.
func (s *Service) serve(ctx context.Context, req *Request) Response {
	start := time.Now()
	resp, outcome := s.run(ctx, req)
	if req.EventType == Health {
		return resp
	}
	s.metrics.observe(req.EventType, outcome, time.Since(start))
	if !resp.Success {
		reason := "failed"
		if resp.Err != nil {
			reason = resp.Err.Error()
		}
		if p := (*panicError)(nil); errors.As(resp.Err, &p) {
			// One line, at error level, with the stack.
			req.Logger().Error("webhook failed", "reason", reason, "outcome", outcome, "stack", p.stack)
		} else {
			req.Logger().Warn("webhook failed", "reason", reason, "outcome", outcome)
		}
	}
	return resp
}

// run applies req's deadline and runs its handler; it tells the outcome.
func (s *Service) run(ctx context.Context, req *Request) (Response, string) {
	if !req.Deadline.IsZero() {
		if !time.Now().Before(req.Deadline) {
			return Failf("deadline %s passed before the %s event could be handled", req.Deadline.UTC().Format(time.RFC3339), req.EventType), OutcomeFailed
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, req.Deadline)
		defer cancel()
	}
	h, err := s.handlerFor(req)
	if err != nil {
		return Fail(err), OutcomeFailed
	}
	if h == nil {
		return notImplemented, OutcomeNotImplemented
	}
	if req.EventType != Health {
		s.inProgress.Add(1)
		defer s.inProgress.Add(-1)
	}
	resp := s.call(ctx, req, h)
	if !resp.Success && s.aborted.Load() {
		// Cut short by shutdown: let the cloud deliver it again.
		resp.Retry = true
	}
	return resp, outcomeOf(resp)
}

// handlerDeadline is when a handler's context ends for an envelope
// deadline d received at now: d itself, DefaultDeadline after now when d
// is zero (absent or not positive), and never later than MaxHandlerTime
// after now.
func handlerDeadline(d, now time.Time) time.Time {
	if d.IsZero() {
		return now.Add(DefaultDeadline)
	}
	if limit := now.Add(MaxHandlerTime); d.After(limit) {
		return limit
	}
	return d
}

// handlerFor picks the handler of req's etype, wrapped in its middleware, and
// validates the parameters it declares. A nil handler means not implemented.
func (s *Service) handlerFor(req *Request) (HandlerFunc, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.implementedLocked(req.EventType) {
		return nil, nil
	}
	var h HandlerFunc
	switch req.EventType {
	case Health:
		return s.handleHealth, nil
	case GetResource:
		h = s.handleGetResource
	case CommandEvent:
		h = s.handleCommand
	case RequestEvent:
		p, err := s.params.validate(req.Data)
		if err != nil {
			return nil, err
		}
		req.setParams(p)
		h = s.handlers[req.EventType]
	default:
		h = s.handlers[req.EventType]
	}
	if h == nil {
		h = func(context.Context, *Request) Response { return OK(nil) }
	}
	for i := len(s.middleware) - 1; i >= 0; i-- {
		if l := s.middleware[i]; l.wraps(req.EventType) {
			h = l.m(h)
		}
	}
	return h, nil
}

// layer is one Use: a middleware and the event types it wraps (all but
// health when empty).
type layer struct {
	m      Middleware
	etypes []EventType
}

func (l layer) wraps(e EventType) bool {
	return e != Health && (len(l.etypes) == 0 || slices.Contains(l.etypes, e))
}

// names reports whether l names e explicitly, which makes e implemented.
func (l layer) names(e EventType) bool { return slices.Contains(l.etypes, e) }

// call runs h, turning a panic into a retryable failure so the process keeps serving.
func (s *Service) call(ctx context.Context, req *Request, h HandlerFunc) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			// Logged by serve, with the stack.
			resp = Retry(&panicError{msg: fmt.Sprintf("handler panicked: %v", v), stack: string(debug.Stack())})
		}
	}()
	return h(ctx, req)
}

// panicError is the failure of a handler that panicked.
type panicError struct{ msg, stack string }

func (e *panicError) Error() string { return e.msg }
