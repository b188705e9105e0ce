package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// TaskID identifies one task from the moment it is sent until it is
// answered or times out. Reply.TaskID and Timeout.TaskID carry it.
type TaskID string

// TaskOption configures one task.
type TaskOption func(*taskConfig)

type taskConfig struct {
	then      ReplyHandler
	handler   string
	job       *jobs.Job
	state     any
	ttl       time.Duration
	onTimeout TimeoutHandler
	stream    bool
}

// Then sets a closure continuation. It lives in this process only: pair it
// with Via when the reply may land on another replica or after a restart.
func Then(fn ReplyHandler) TaskOption { return func(c *taskConfig) { c.then = fn } }

// Via names a reply handler registered with HandleReply. The name travels
// in the signed token, so any replica can answer.
func Via(name string) TaskOption { return func(c *taskConfig) { c.handler = name } }

// WithJob ties the task to a job: its id travels in the token and the
// continuation gets the job reopened by id.
func WithJob(j *jobs.Job) TaskOption { return func(c *taskConfig) { c.job = j } }

// MaxStateLen bounds the state a task carries (WithState), once marshalled,
// so the investigation_id stays compact.
const MaxStateLen = token.MaxStateLen

// WithState attaches small state, marshalled to JSON and carried in the
// signed token (at most MaxStateLen bytes once marshalled).
func WithState(v any) TaskOption { return func(c *taskConfig) { c.state = v } }

// TTL sets how long the task waits for its answer.
func TTL(d time.Duration) TaskOption { return func(c *taskConfig) { c.ttl = d } }

// OnTimeout sets what runs, once, if no answer arrives within the TTL. Without
// it, the timeout handler registered under the task's Via name runs
// (HandleTimeout), else a task with a job gets the job narrated and closed
// as failed.
func OnTimeout(fn TimeoutHandler) TaskOption { return func(c *taskConfig) { c.onTimeout = fn } }

// Stream keeps the continuation open for more replies until its TTL, or until
// Reply.Done, or a RECEIPT saying "done" (commands such as history_dump and
// yara_scan answer with many events).
func Stream() TaskOption { return func(c *taskConfig) { c.stream = true } }

// Task sends command (a full command line, e.g. CommandLine("file_hash", path))
// to sensor sid of org, with a continuation: Then, Via, or both. org is the
// organization of the message being handled (Request.Org, Reply.Org,
// Timeout.Org). The reply may arrive before Task returns.
//
// Pass the handler's ctx: the task's id, which is also its idempotency key
// at the API, is derived from the message being handled, the sensor, the
// command line and how many such tasks the handler sent before, so a
// message handled again (redelivered, here or on another replica) tasks
// the sensor once. A task sent under a context that comes from no handler
// gets a random id. If the same task is already pending in this process,
// Task returns its id without sending it again.
func (s *Service) Task(ctx context.Context, org tasking.Org, sid, command string, opts ...TaskOption) (TaskID, error) {
	t, err := s.newTask(org, sid, command, opts)
	if err != nil {
		return "", err
	}
	s.orgs.remember(ctx, org)

	id := s.taskID(ctx, sid, command)
	invID, err := s.codec.Encode(token.Token{ID: id, Handler: t.handler, JobID: t.jobID, State: t.stateJSON, Expiry: t.expires}, org.ID, sid)
	if err != nil {
		return "", fmt.Errorf("interactive: building the task's token: %w", err)
	}
	if s.ended != nil {
		s.local.add(id.String()) // before the reply can arrive
	}
	err = s.track(ctx, id.String(), &t)
	if errors.Is(err, tracking.ErrDuplicateID) {
		// The same message is being handled again here (a redelivery
		// that did not wait for the first): this very task is pending
		// already, sent by the first handling.
		return TaskID(id.String()), nil
	}
	if err != nil {
		s.local.forget(id.String())
		return "", fmt.Errorf("interactive: tracking the task: %w", err)
	}
	err = s.client.Task(ctx, org, tasking.TaskRequest{
		SID: sid, Commands: []string{command}, InvestigationID: invID, IdempotencyKey: id.String(),
	})
	if err != nil {
		_, _, _ = s.pending.Done(ctx, id.String())
		s.local.forget(id.String())
		s.counters.taskErrors.Add(1)
		// At debug level: a handler that fails on it has the webhook's
		// failure logged, with this error as its reason.
		s.Logger().Debug("task failed", "oid", org.ID, "sid", sid, "command", commandName(command), "error", err.Error())
		return "", fmt.Errorf("tasking sensor %s with %q: %w", sid, commandName(command), err)
	}
	s.counters.tasked.Add(1)
	if s.ended != nil {
		// Without a shared store, the timeout travels with the platform
		// too, so it fires even if this process is gone by then.
		s.armTimeout(ctx, timeoutState{Token: invID, Hop: 1, SID: sid, Command: command}, t.expires)
	}
	return TaskID(id.String()), nil
}

// task is a task being sent: Task's arguments and options, checked, with
// what follows from them.
type task struct {
	taskConfig
	oid, sid, command string
	jobID             string // cfg.job's, if any
	stateJSON         []byte // cfg.state marshalled, if any
	created, expires  time.Time
}

// newTask checks Task's arguments and options and returns the task they
// describe, created now.
func (s *Service) newTask(org tasking.Org, sid, command string, opts []TaskOption) (task, error) {
	t := task{taskConfig: taskConfig{ttl: s.defaultTTL}, oid: org.ID, sid: sid, command: command}
	for _, o := range opts {
		o(&t.taskConfig)
	}
	if err := org.Valid(); err != nil {
		return task{}, fmt.Errorf("interactive: Task needs the organization of the message being handled: %w", err)
	}
	switch {
	case sid == "":
		return task{}, errors.New("interactive: Task needs a sensor id")
	case strings.TrimSpace(command) == "":
		return task{}, errors.New("interactive: Task needs a command line")
	case t.then == nil && t.handler == "":
		return task{}, errors.New("interactive: Task needs a continuation: Then(closure) or Via(handler name)")
	case t.handler != "" && s.replyHandler(t.handler) == nil:
		return task{}, fmt.Errorf("interactive: no reply handler named %q: register it with HandleReply at start-up", t.handler)
	case t.ttl <= 0:
		return task{}, fmt.Errorf("interactive: TTL must be positive, got %v", t.ttl)
	}
	if t.state != nil {
		var err error
		if t.stateJSON, err = json.Marshal(t.state); err != nil {
			return task{}, fmt.Errorf("interactive: task state: %w", err)
		}
	}
	if t.job != nil {
		t.jobID = t.job.ID()
	}
	t.created = s.clock.Now()
	// Tokens carry whole seconds; round up so the token never expires first.
	t.expires = t.created.Add(t.ttl).Truncate(time.Second).Add(time.Second)
	return t, nil
}

// track puts task t, whose id is id, in the pending store until it is
// answered, times out or is evicted. What it stores is all this process
// keeps of a pending task.
func (s *Service) track(ctx context.Context, id string, t *task) error {
	c := newContinuation(t.handler, t.oid, t.sid, t.command, t.jobID, t.stateJSON)
	c.then, c.onTimeout = t.then, t.onTimeout
	return s.pending.Add(ctx, tracking.Entry[*continuation]{
		ID:        id,
		Value:     c,
		Created:   t.created,
		Expires:   t.expires,
		Streaming: t.stream,
	})
}

func commandName(line string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	return name
}

// CommandLine joins a command and its arguments into a sensor command line,
// quoting arguments that contain spaces or quotes (a backslash escapes only a
// quote on the sensor side).
func CommandLine(name string, args ...string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, a := range args {
		b.WriteByte(' ')
		if a != "" && !strings.ContainsAny(a, " \t\"'") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(a, `"`, `\"`))
		b.WriteByte('"')
	}
	return b.String()
}
