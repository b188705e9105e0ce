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

// route delivers a verified reply: pending closure (here, or relayed to
// the replica holding it), then named handler, then orphan.
func (s *Service) route(ctx context.Context, req *service.Request, routing eventRouting, event []byte, tok token.Token) service.Response {
	id := tok.ID.String()
	r := s.newReply(req, id, tok.Handler, tok.JobID, tok.State, event, tok.Expiry)
	r.SID, r.Hostname, r.Platform, r.EventType = routing.SID, routing.Hostname, routing.Plat, routing.EventType
	r.EventTime = time.UnixMilli(int64(routing.EventTime))
	if r.Org.ID == "" {
		r.Org.ID = routing.OID
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
	ended := !pending || !e.Streaming
	switch {
	case ended:
		s.claimEnd(id, tok.Expiry) // answered: no timeout continuation fires for it here
	case r.Final:
		_, _, _ = s.pending.Done(ctx, id)
		s.claimEnd(id, tok.Expiry)
		ended = true
	}
	var h ReplyHandler
	if pending {
		r.Replies = e.Replies
		c := e.Value
		switch {
		case c.then != nil:
			h = c.then
			s.counters.routedClosure.Add(1)
		case c.hasThen() && c.owner() != s.replica && s.relay != nil:
			if resp, ok := s.relay.reply(ctx, c.owner(), r, ended); ok {
				s.counters.routedRelayed.Add(1)
				return resp
			}
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

// newReply makes the Reply of task id (whose token expires at expires)
// carried by req, its routing fields left for the caller.
func (s *Service) newReply(req *service.Request, id, handler, jobID string, state, event []byte, expires time.Time) *Reply {
	r := &Reply{
		Org: req.Org(), TaskID: TaskID(id), Handler: handler, Request: req,
		event: event, state: state,
		done: func() {
			_, _, _ = s.pending.Done(context.Background(), id)
			s.claimEnd(id, expires)
		},
	}
	if jobID != "" {
		r.Job = jobs.Reopen(jobID)
	}
	return r
}

// withJob sends the reopened job's updates unless the handler attached it.
func withJob(resp service.Response, j *jobs.Job) service.Response {
	if j == nil || slices.Contains(resp.Jobs, j) || (len(j.Entries()) == 0 && !j.IsClosed()) {
		return resp
	}
	return resp.WithJobs(j)
}
