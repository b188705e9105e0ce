package interactive

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// onDetection routes replies to continuations; other detections go to the
// user's OnDetection.
func (s *Service) onDetection(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		if req.Action == ReplyAction && s.ext != nil {
			return s.onReplyRequest(ctx, req)
		}
		routing, event, err := parseDetection(req.Data)
		if err != nil || !strings.HasPrefix(routing.InvestigationID, s.codec.Prefix()) {
			return next(ctx, req)
		}
		return s.verifyAndRoute(ctx, req, routing, event)
	}
}

// onReplyRequest routes a reply delivered as ReplyAction on extensions. It
// carries nothing but a reply, so what does not verify goes no further.
func (s *Service) onReplyRequest(ctx context.Context, req *service.Request) service.Response {
	routing, event, err := parseReplyRequest(req.Data)
	if err != nil || !s.knownRoute(routing) {
		s.counters.refused.Add(1)
		reason := "investigation_id is not this service's"
		if err != nil {
			reason = err.Error()
		}
		if ok, n := s.refusedLog.Allow(time.Now()); ok {
			s.Logger().Warn("reply refused", "reason", reason, "oid", req.OID, "sid", routing.SID, "suppressed", n)
		}
		return service.OK(nil)
	}
	return s.verifyAndRoute(ctx, req, routing, event)
}

// verifyAndRoute verifies the token of a reply that carries this service's
// prefix and routes it.
func (s *Service) verifyAndRoute(ctx context.Context, req *service.Request, routing eventRouting, event []byte) service.Response {
	if routing.EventType == "CLOUD_NOTIFICATION" {
		return service.OK(nil) // a receipt that the task was queued, not an answer
	}
	// The token is bound to the organization and sensor it was sent to:
	// the message's (signed) organization and the routing's sensor. A
	// routing naming another organization than the message is refused
	// like a forgery.
	oid := req.OID
	if oid == "" {
		oid = routing.OID
	} else if routing.OID != "" && !strings.EqualFold(routing.OID, oid) {
		oid = ""
	}
	tok, err := s.codec.Decode(routing.InvestigationID, oid, routing.SID, s.clock.Now())
	if err != nil {
		if errors.Is(err, token.ErrExpired) {
			s.counters.expired.Add(1)
		} else {
			s.counters.refused.Add(1)
		}
		if ok, n := s.refusedLog.Allow(time.Now()); ok {
			s.Logger().Warn("reply refused", "reason", err.Error(), "oid", req.OID, "sid", routing.SID, "suppressed", n)
		}
		return service.OK(nil)
	}
	return s.route(ctx, req, routing, event, tok)
}

// route delivers a verified reply: pending closure, then named handler, then orphan.
func (s *Service) route(ctx context.Context, req *service.Request, routing eventRouting, event []byte, tok token.Token) service.Response {
	id := tok.ID.String()
	r := &Reply{
		Org: req.Org(), SID: routing.SID, Hostname: routing.Hostname, Platform: routing.Plat, EventType: routing.EventType,
		EventTime: time.UnixMilli(int64(routing.EventTime)),
		TaskID:    TaskID(id), Handler: tok.Handler, Request: req,
		event: event, state: tok.State,
		done: func() {
			_, _, _ = s.pending.Done(context.WithoutCancel(ctx), id)
			s.claimEnd(id, tok.Expiry)
		},
	}
	if r.Org.ID == "" {
		r.Org.ID = routing.OID
	}
	if tok.JobID != "" {
		r.Job = jobs.Reopen(tok.JobID)
	}
	if routing.EventType == "RECEIPT" {
		r.Err, r.Final = receiptError(event)
	}

	e, pending, err := s.pending.Resolve(ctx, id)
	if err != nil {
		// The store could not say whether the task is pending: let the
		// cloud deliver the reply again rather than guess.
		return service.Retry(err)
	}
	switch {
	case !pending || !e.Streaming:
		s.claimEnd(id, tok.Expiry) // answered: no timeout continuation fires for it here
	case r.Final:
		_, _, _ = s.pending.Done(ctx, id)
		s.claimEnd(id, tok.Expiry)
	}
	var h ReplyHandler
	if pending {
		r.Replies = e.Replies
		if e.Value.then != nil {
			h = e.Value.then
			s.counters.routedClosure.Add(1)
		}
	}
	if h == nil && tok.Handler != "" {
		if h = s.replyHandler(tok.Handler); h != nil {
			s.counters.routedNamed.Add(1)
		}
	}
	if h == nil {
		s.counters.orphans.Add(1)
		h = s.orphan
	}
	return withJob(h(ctx, r), r.Job)
}

// withJob sends the reopened job's updates unless the handler attached it.
func withJob(resp service.Response, j *jobs.Job) service.Response {
	if j == nil || slices.Contains(resp.Jobs, j) || (len(j.Entries()) == 0 && !j.IsClosed()) {
		return resp
	}
	return resp.WithJobs(j)
}
