package interactive

import (
	"context"
	"errors"
	"time"

	"github.com/lcsvc/lcservice/tracking"
)

// record is the part of a continuation that crosses processes: everything
// but the closures, and which process holds them.
type record struct {
	Handler      string `json:"h,omitempty"`
	OID          string `json:"o"`
	SID          string `json:"s"`
	Command      string `json:"c"`
	JobID        string `json:"j,omitempty"`
	State        []byte `json:"st,omitempty"`
	Owner        string `json:"ow,omitempty"` // the replica holding the closures
	HasThen      bool   `json:"t,omitempty"`
	HasOnTimeout bool   `json:"to,omitempty"`
}

func (c *continuation) record(replica string) record {
	r := record{Handler: c.handler, OID: c.oid(), SID: c.sid(), Command: c.command, JobID: c.jobID(), State: c.state(),
		HasThen: c.then != nil, HasOnTimeout: c.onTimeout != nil}
	if r.HasThen || r.HasOnTimeout {
		r.Owner = replica
	}
	return r
}

func (r record) continuation() *continuation {
	c := newContinuation(r.Handler, r.OID, r.SID, r.Command, r.JobID, r.State)
	if r.Owner != "" || r.HasThen || r.HasOnTimeout {
		m := c.more()
		m.owner, m.hasThen, m.hasOnTimeout = r.Owner, r.HasThen, r.HasOnTimeout
	}
	return c
}

// closureGrace is how long past a task's expiry a replica keeps its
// closures, for the timeout another replica's sweep relays to it.
const closureGrace = time.Minute

// sharedPending is the pending store of a service whose replicas share
// Redis: the tasks themselves live in Redis, where any replica resolves or
// times them out once, and the closures stay in the process that made
// them (a Table keyed like the shared store), reached through the relay.
type sharedPending struct {
	replica string
	shared  *tracking.Redis[record]
	local   *tracking.Table[*continuation]
}

var _ tracking.Store[*continuation] = (*sharedPending)(nil)

// Add stores the closures here first, so that a reply relayed to this
// process before Add returns finds them, then the task in Redis.
func (p *sharedPending) Add(ctx context.Context, e tracking.Entry[*continuation]) error {
	rec := e.Value.record(p.replica)
	if rec.Owner != "" {
		// Always streaming here: the shared store decides when a task
		// ends, and Done removes the closures then.
		err := p.local.Add(ctx, tracking.Entry[*continuation]{ID: e.ID, Value: e.Value, Created: e.Created,
			Expires: e.Expires.Add(closureGrace), Streaming: true})
		if err != nil {
			return err
		}
	}
	err := p.shared.Add(ctx, tracking.Entry[record]{ID: e.ID, Value: rec, Created: e.Created, Expires: e.Expires, Streaming: e.Streaming})
	if err != nil && rec.Owner != "" && !errors.Is(err, tracking.ErrDuplicateID) {
		_, _, _ = p.local.Done(ctx, e.ID)
	}
	return err
}

// Resolve resolves the task in Redis, then joins the closures if this
// process holds them.
func (p *sharedPending) Resolve(ctx context.Context, id string) (tracking.Entry[*continuation], bool, error) {
	e, ok, err := p.shared.Resolve(ctx, id)
	if !ok || err != nil {
		return tracking.Entry[*continuation]{}, ok, err
	}
	return p.join(ctx, e, !e.Streaming), true, nil
}

// Done ends the task in Redis and drops its closures here.
func (p *sharedPending) Done(ctx context.Context, id string) (tracking.Entry[*continuation], bool, error) {
	e, ok, err := p.shared.Done(ctx, id)
	if !ok || err != nil {
		return tracking.Entry[*continuation]{}, ok, err
	}
	return p.join(ctx, e, true), true, nil
}

// join turns a shared entry into a continuation, with the closures this
// process holds for it (dropping them when the task has ended).
func (p *sharedPending) join(ctx context.Context, e tracking.Entry[record], ended bool) tracking.Entry[*continuation] {
	c := e.Value.continuation()
	if c.owner() == p.replica {
		if l, ok := p.closures(ctx, e.ID, ended); ok {
			c.then, c.onTimeout = l.then, l.onTimeout
		}
	}
	return tracking.Entry[*continuation]{ID: e.ID, Value: c, Created: e.Created, Expires: e.Expires, Streaming: e.Streaming, Replies: e.Replies}
}

// closures returns the closures this process holds for task id, dropping
// them when the task has ended.
func (p *sharedPending) closures(ctx context.Context, id string, ended bool) (*continuation, bool) {
	var e tracking.Entry[*continuation]
	var ok bool
	if ended {
		e, ok, _ = p.local.Done(ctx, id)
	} else {
		e, ok, _ = p.local.Resolve(ctx, id) // streaming: kept
	}
	return e.Value, ok
}

// Stats is the shared store's view, with the closures evicted here for
// space.
func (p *sharedPending) Stats() tracking.Stats {
	st := p.shared.Stats()
	st.Evicted = p.local.Stats().Evicted
	return st
}

// Close stops this process's sweeps and drops its closures; the tasks
// stay in Redis for the other replicas.
func (p *sharedPending) Close() error {
	return errors.Join(p.shared.Close(), p.local.Close())
}
