package interactive

import (
	"context"
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// TimeoutHandler runs, once, when a task's TTL lapses without the answer it
// waited for. It runs in the background; job updates it makes are sent with
// the next response to the organization.
type TimeoutHandler func(ctx context.Context, t *Timeout)

// Timeout describes a task that was not answered in time.
type Timeout struct {
	OID, SID      string
	Command       string
	CorrelationID string
	// Replies counts the replies a streaming task did receive.
	Replies int
	// Job is the task's job reopened by id, or nil.
	Job *jobs.Job
	// Request carries the organization's latest JWT, so the handler can task
	// again with Service.Task.
	Request *service.Request

	state []byte
}

// State unmarshals the task's state into v.
func (t *Timeout) State(v any) error { return decodeState(t.state, v) }

// HasState reports whether the task carried state.
func (t *Timeout) HasState() bool { return len(t.state) > 0 }

// timedOut is the tracking table's timeout callback: it runs the handler off
// the request path, in a goroutine Shutdown awaits.
func (s *Service) timedOut(e tracking.Entry[*continuation]) {
	s.counters.timedOut.Add(1)
	c := e.Value
	t := &Timeout{
		OID: c.oid, SID: c.sid, Command: c.command, CorrelationID: e.ID, Replies: e.Replies,
		Request: service.NewRequest("", c.oid, s.orgs.latestJWT(c.oid), nil, nil),
		state:   e.State,
	}
	if e.JobID != "" {
		t.Job = jobs.Reopen(e.JobID)
	}
	s.svc.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, s.timeoutRun)
		defer cancel()
		s.runTimeout(ctx, c.onTimeout, t)
		if t.Job != nil && (len(t.Job.Entries()) > 0 || t.Job.IsClosed()) {
			s.orgs.queue(t.OID, t.Job)
		}
	})
}

func (s *Service) runTimeout(ctx context.Context, h TimeoutHandler, t *Timeout) {
	defer func() {
		if v := recover(); v != nil {
			s.svc.Logger().Error("timeout handler panicked", "panic", fmt.Sprint(v), "correlation_id", t.CorrelationID)
		}
	}()
	if h != nil {
		h(ctx, t)
		return
	}
	s.svc.Logger().Warn("task timed out", "oid", t.OID, "sid", t.SID, "command", commandName(t.Command), "replies", t.Replies)
	if t.Job == nil {
		return
	}
	if t.Replies > 0 {
		t.Job.Narrate(fmt.Sprintf("%s: %d answers received; no more expected", commandName(t.Command), t.Replies), false)
	} else {
		t.Job.Narrate(fmt.Sprintf("sensor %s did not answer %s in time; the job is closed as failed", t.SID, commandName(t.Command)), true)
	}
	t.Job.Close()
}
