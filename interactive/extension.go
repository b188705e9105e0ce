package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/jsonscan"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/internal/wire"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// The internal extension actions of an interactive service served as a
// LimaCharlie extension (see the extension package).
const (
	// ReplyAction carries a sensor's answer: the replicant rule calls the
	// extension with it, passing the event and its routing.
	ReplyAction = extension.InternalPrefix + "reply"
	// TimeoutAction carries a task's timeout: every task sent while
	// handling an extension message sets a continuation with it, so the
	// timeout fires even if the process that sent the task is gone.
	TimeoutAction = extension.InternalPrefix + "timeout"
)

// Hooks of the service package for the layers built on it.
var (
	dispatch   = wire.Dispatch.(func(*service.Service, context.Context, *service.Request) service.Response)
	newRequest = wire.NewRequest.(func(*service.Service, service.EventType, tasking.Org, json.RawMessage) *service.Request)
)

// replyTransform is what the replicant rule passes to ReplyAction: the
// sensor event and its routing, as objects.
var replyTransform = map[string]string{"event": "event", "routing": "routing"}

// endedGrace is how long past a task's expiry this process remembers that
// the task ended, which covers the last continuation of its timeout.
const endedGrace = time.Hour

// adaptToExtension wires the service to the extension transport x: reply
// and timeout actions, the rule stored again on update, the REST client.
func (s *Service) adaptToExtension(x *extension.Transport, capacity int) error {
	s.ext = x
	if s.shared == nil {
		// Without a shared store, timeouts also travel as continuations
		// (armTimeout), and this record stops them firing twice here.
		ended, err := tracking.New(tracking.Options[struct{}]{Capacity: 2 * capacity, TTL: endedGrace, Clock: s.clock})
		if err != nil {
			return err
		}
		s.ended = ended
		s.OnShutdown(func(context.Context) { _ = ended.Close() })
	}
	x.UseClient(s.client)
	x.HandleAction(ReplyAction, s.replyAction)
	x.HandleAction(TimeoutAction, s.timeoutAction)
	x.OnUpdate(func(ctx context.Context, req *service.Request) service.Response {
		s.orgs.remember(ctx, req.Org())
		return withRuleError(service.OK(nil), s.installRule(ctx, req))
	})
	return nil
}

// rule returns the replicant rule for the protocol the service speaks.
func (s *Service) rule() tasking.Rule {
	if s.ext == nil {
		return replicantRule(s.Name())
	}
	return replicantRuleWith(s.Name(), extension.Respond(s.ext.Name(), ReplyAction, replyTransform))
}

// replyAction dispatches a reply request as a detection, so it passes
// through the service's middleware like a reply on the service protocol;
// onDetection recognises it by its action.
func (s *Service) replyAction(ctx context.Context, req *service.Request) service.Response {
	d := newRequest(s.Service, service.Detection, req.Org(), req.Data)
	d.MessageID, d.Deadline, d.Action = req.MessageID, req.Deadline, req.Action
	return dispatch(s.Service, ctx, d)
}

// parseReplyRequest returns the routing and raw event of a reply request:
// {"event":…, "routing":…}, each an object or a JSON-encoded string (as a
// template transform would make it). A detection-shaped payload is read as
// a detection.
func parseReplyRequest(data []byte) (eventRouting, []byte, error) {
	var event, routing, detect []byte
	if !jsonscan.Members(data, func(k, v []byte) bool {
		key, _ := jsonscan.Unquote(k)
		switch {
		case jsonscan.FieldMatches(key, "event"):
			event = v
		case jsonscan.FieldMatches(key, "routing"):
			routing = v
		case jsonscan.FieldMatches(key, "detect"):
			detect = v
		}
		return true
	}) && !isNull(data) {
		return eventRouting{}, nil, errors.New("reply is not an object")
	}
	if len(detect) > 0 {
		return parseDetection(data)
	}
	var r eventRouting
	if err := json.Unmarshal(unquoteJSON(routing), &r); err != nil {
		return eventRouting{}, nil, fmt.Errorf("reply routing: %w", err)
	}
	return r, unquoteJSON(event), nil
}

// unquoteJSON returns the JSON text a JSON string holds, or v itself.
func unquoteJSON(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || v[0] != '"' {
		return v
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return v
	}
	return json.RawMessage(s)
}

// timeoutState is the data of a TimeoutAction continuation. The token is
// the task's signed investigation_id; sid and command only describe it.
type timeoutState struct {
	Token   string `json:"token"`
	Hop     int    `json:"hop"`
	SID     string `json:"sid,omitempty"`
	Command string `json:"command,omitempty"`
}

// armTimeout adds the continuation that carries a new task's timeout to the
// response of the extension message ctx belongs to.
func (s *Service) armTimeout(ctx context.Context, st timeoutState, expires time.Time) {
	if st.Hop > extension.MaxContinuationLevel {
		s.Logger().Warn("the task's timeout outlasts the platform's continuations; only the process that sent it times it out",
			"task_token_expiry", expires.UTC().Format(time.RFC3339))
		return
	}
	delay := expires.Sub(s.clock.Now())
	delay = min(max(delay, time.Second), extension.MaxContinuationDelay)
	err := extension.Continue(ctx, extension.Continuation{Delay: delay, Action: TimeoutAction, State: st})
	switch {
	case errors.Is(err, extension.ErrNoMessage):
		// Sent from background work: the process's own timer is all there is.
	case err != nil:
		s.Logger().Warn("no continuation for the task's timeout; only the process that sent it times it out", "error", err.Error())
	}
}

// timeoutAction answers a TimeoutAction continuation: before the task's
// expiry it sets the next continuation; after it, it fires the timeout
// unless this process has already seen the task end.
func (s *Service) timeoutAction(ctx context.Context, req *service.Request) service.Response {
	resp := s.timeoutStep(ctx, req)
	if resp.Success && req.OID != "" {
		// Job updates of timeouts this process fired on its own timer ride
		// the answer, as they would the next response to the organization.
		if q := s.orgs.take(ctx, req.OID); len(q) > 0 {
			resp = resp.WithJobs(q...)
		}
	}
	return resp
}

func (s *Service) timeoutStep(ctx context.Context, req *service.Request) service.Response {
	s.orgs.remember(ctx, req.Org())
	var st timeoutState
	if err := req.Decode(&st); err != nil || st.Token == "" {
		s.counters.refused.Add(1)
		return service.Failf("timeout continuation without a task token")
	}
	now := s.clock.Now()
	tok, err := s.codec.Decode(st.Token, req.OID, st.SID, now)
	if err != nil && !errors.Is(err, token.ErrExpired) {
		s.counters.refused.Add(1)
		req.Logger().Warn("timeout continuation refused", "reason", err.Error())
		return service.Failf("timeout continuation refused: %v", err)
	}
	if err == nil {
		st.Hop++
		s.armTimeout(ctx, st, tok.Expiry)
		return service.OK(nil)
	}
	return s.fireTimeout(ctx, req, tok, st)
}

// fireTimeout fires the timeout of an expired task once in this process:
// with the closure this process holds for it, or, when it holds none
// (restarted, or the task was sent by another replica), with the timeout
// handler registered under the task's handler name, else the default.
func (s *Service) fireTimeout(ctx context.Context, req *service.Request, tok token.Token, st timeoutState) service.Response {
	id := tok.ID.String()
	e, held, err := s.pending.Done(ctx, id)
	if err != nil {
		return service.Retry(err)
	}
	if !held && s.shared != nil {
		return service.OK(nil) // the shared store says it ended: answered, or timed out by a replica
	}
	if !held && s.local.has(id) {
		// Sent by this process and still tracked: its own timer fires the
		// timeout, with the closure, at the sweep due now.
		return service.OK(nil)
	}
	expires := tok.Expiry
	if held {
		expires = e.Expires
	}
	if !s.claimEnd(id, expires) {
		return service.OK(nil) // answered, or timed out already
	}
	c := newContinuation(tok.Handler, req.OID, st.SID, st.Command, tok.JobID, tok.State)
	replies := 0
	if held {
		c, replies = e.Value, e.Replies
	}
	t := &Timeout{Org: req.Org(), SID: c.sid(), Command: c.command, TaskID: TaskID(id), Replies: replies, state: c.state()}
	if jobID := c.jobID(); jobID != "" {
		t.Job = jobs.Reopen(jobID)
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeoutRun)
	defer cancel()
	rctx = withOrigin(rctx, "timeout", id)
	s.runTimeout(rctx, s.timeoutHandlerFor(c), t)
	s.counters.timedOut.Add(1)
	return withJob(service.OK(nil), t.Job)
}

// claimEnd records that task id has ended in this process (answered, done,
// or timed out) and reports whether it had not already. Only a service
// served as an extension keeps the record: it is what stops a late timeout
// continuation from firing twice.
func (s *Service) claimEnd(id string, expires time.Time) bool {
	if s.ended == nil {
		return true
	}
	s.local.forget(id)
	err := s.ended.Add(context.Background(), tracking.Entry[struct{}]{ID: id, Expires: expires.Add(endedGrace)})
	return err == nil
}

// localTasks is the set of tasks this process sent and still tracks in its
// pending store (only kept on extensions): their timeouts are this
// process's to fire. A task leaves it when it leaves the store.
type localTasks struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (l *localTasks) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ids == nil {
		l.ids = map[string]struct{}{}
	}
	l.ids[id] = struct{}{}
}

func (l *localTasks) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ids, id)
}

func (l *localTasks) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.ids[id]
	return ok
}

// knownRoute reports whether routing names this service's task at all.
func (s *Service) knownRoute(r eventRouting) bool {
	return strings.HasPrefix(r.InvestigationID, s.codec.Prefix())
}
