package interactive

import (
	"context"
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// TimeoutHandler runs, once, when a task's TTL lapses without the answer it
// waited for. It runs in the background; job updates it makes are sent with
// the next response to the organization.
type TimeoutHandler func(ctx context.Context, t *Timeout)

// Timeout describes a task that was not answered in time.
type Timeout struct {
	// Org is the organization, with the latest JWT this process has seen
	// for it: pass it to Task to task again.
	Org     tasking.Org
	SID     string
	Command string
	TaskID  TaskID
	// Replies counts the replies a streaming task did receive.
	Replies int
	// Job is the task's job reopened by id, or nil.
	Job *jobs.Job

	state []byte
}

// State unmarshals the task's state into v.
func (t *Timeout) State(v any) error { return decodeState(t.state, v) }

// HasState reports whether the task carried state.
func (t *Timeout) HasState() bool { return len(t.state) > 0 }

// timedOut is the pending store's timeout callback. The handler runs in a
// goroutine the service's Shutdown awaits, and timedOut waits for it, so a
// sweep (and a test's ManualClock.Advance) ends when its timeouts have been
// handled.
func (s *Service) timedOut(e tracking.Entry[*continuation]) { s.handleTimeout(e) }

// handleTimeout handles e's timeout and reports whether it could: false
// when the service is stopping.
func (s *Service) handleTimeout(e tracking.Entry[*continuation]) bool {
	if !s.claimEnd(e.ID, e.Expires) {
		return true // a timeout continuation fired it already
	}
	c := e.Value
	t := &Timeout{
		Org: tasking.Org{ID: c.oid()}, SID: c.sid(), Command: c.command, TaskID: TaskID(e.ID),
		Replies: e.Replies, state: c.state(),
	}
	if jobID := c.jobID(); jobID != "" {
		t.Job = jobs.Reopen(jobID)
	}
	done := make(chan struct{})
	started := s.Go(func(ctx context.Context) {
		defer close(done)
		ctx, cancel := context.WithTimeout(ctx, s.timeoutRun)
		defer cancel()
		t.Org = s.orgs.latest(ctx, c.oid())
		ctx = withOrigin(ctx, "timeout", e.ID)
		s.runTimeout(ctx, s.timeoutHandlerFor(c), t)
		if t.Job != nil && (len(t.Job.Entries()) > 0 || t.Job.IsClosed()) {
			// Queued even if the handler's time ran out: not under ctx.
			s.orgs.queue(context.WithoutCancel(ctx), t.Org.ID, t.Job)
		}
		s.counters.timedOut.Add(1)
	})
	if started {
		<-done
	}
	return started
}

func (s *Service) runTimeout(ctx context.Context, h TimeoutHandler, t *Timeout) {
	defer func() {
		if v := recover(); v != nil {
			s.Logger().Error("timeout handler panicked", "panic", fmt.Sprint(v), "task_id", string(t.TaskID))
		}
	}()
	if h != nil {
		h(ctx, t)
		return
	}
	s.Logger().Warn("task timed out", "oid", t.Org.ID, "sid", t.SID, "command", commandName(t.Command), "replies", t.Replies)
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
