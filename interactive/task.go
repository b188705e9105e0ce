package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

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

// Via names a continuation registered with Handle. The name travels in the
// signed token, so any replica can answer.
func Via(name string) TaskOption { return func(c *taskConfig) { c.handler = name } }

// WithJob ties the task to a job: its id travels in the token and the
// continuation gets the job reopened by id.
func WithJob(j *jobs.Job) TaskOption { return func(c *taskConfig) { c.job = j } }

// WithState attaches small state, marshalled to JSON and carried in the
// signed token (at most tasking.MaxStateLen bytes once marshalled).
func WithState(v any) TaskOption { return func(c *taskConfig) { c.state = v } }

// TTL sets how long the task waits for its answer.
func TTL(d time.Duration) TaskOption { return func(c *taskConfig) { c.ttl = d } }

// OnTimeout sets what runs, once, if no answer arrives within the TTL. Without
// it, a task with a job gets the job narrated and closed as failed.
func OnTimeout(fn TimeoutHandler) TaskOption { return func(c *taskConfig) { c.onTimeout = fn } }

// Stream keeps the continuation open for more replies until its TTL, or until
// Reply.Done, or a RECEIPT saying "done" (commands such as history_dump and
// yara_scan answer with many events).
func Stream() TaskOption { return func(c *taskConfig) { c.stream = true } }

// continuation is what the tracking table holds for one task.
type continuation struct {
	then      ReplyHandler
	handler   string
	onTimeout TimeoutHandler
	oid, sid  string
	command   string
	ttl       time.Duration
}

// Ticket identifies a task that was sent.
type Ticket struct {
	CorrelationID   string
	InvestigationID string
	Expires         time.Time
}

// Task sends command (a full command line, e.g. CommandLine("file_hash", path))
// to sensor sid of req's organization, with a continuation: Then, Via, or both.
// The reply may arrive before Task returns.
func (s *Service) Task(ctx context.Context, req *service.Request, sid, command string, opts ...TaskOption) (Ticket, error) {
	cfg := taskConfig{ttl: s.defaultTTL}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case req == nil || req.OID == "" || req.JWT() == "":
		return Ticket{}, errors.New("Task needs the request of an organization event (it supplies the org id and JWT)")
	case sid == "":
		return Ticket{}, errors.New("Task needs a sensor id")
	case strings.TrimSpace(command) == "":
		return Ticket{}, errors.New("Task needs a command line")
	case cfg.then == nil && cfg.handler == "":
		return Ticket{}, errors.New("Task needs a continuation: Then(closure) or Via(handler name)")
	case cfg.handler != "" && s.handler(cfg.handler) == nil:
		return Ticket{}, fmt.Errorf("no handler named %q: register it with Handle at start-up", cfg.handler)
	case cfg.ttl <= 0:
		return Ticket{}, fmt.Errorf("TTL must be positive, got %v", cfg.ttl)
	}
	var state []byte
	if cfg.state != nil {
		var err error
		if state, err = json.Marshal(cfg.state); err != nil {
			return Ticket{}, fmt.Errorf("task state: %w", err)
		}
	}
	jobID := ""
	if cfg.job != nil {
		jobID = cfg.job.ID()
	}
	s.orgs.rememberJWT(req.OID, req.JWT())

	id := uuid.New()
	// Tokens carry whole seconds; round up so the token never expires first.
	expires := s.now().Add(cfg.ttl).Truncate(time.Second).Add(time.Second)
	invID, err := s.codec.Encode(tasking.Token{ID: id, Handler: cfg.handler, JobID: jobID, State: state, Expiry: expires})
	if err != nil {
		return Ticket{}, fmt.Errorf("building correlation token: %w", err)
	}
	err = s.pending.Add(tracking.Entry[*continuation]{
		ID: id.String(),
		Value: &continuation{
			then: cfg.then, handler: cfg.handler, onTimeout: cfg.onTimeout,
			oid: req.OID, sid: sid, command: command, ttl: cfg.ttl,
		},
		JobID:     jobID,
		State:     state,
		Created:   s.now(),
		Expires:   expires,
		Streaming: cfg.stream,
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("tracking the task: %w", err)
	}
	err = s.client.Task(ctx, auth(req), tasking.TaskRequest{
		SID: sid, Commands: []string{command}, InvestigationID: invID, IdempotencyKey: id.String(),
	})
	if err != nil {
		s.pending.Done(id.String())
		s.counters.taskErrors.Add(1)
		return Ticket{}, fmt.Errorf("tasking sensor %s with %q: %w", sid, commandName(command), err)
	}
	s.counters.tasked.Add(1)
	return Ticket{CorrelationID: id.String(), InvestigationID: invID, Expires: expires}, nil
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
