package interactive

import (
	"unique"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/internal/uuidtext"
)

// continuation is what the pending store holds for one task. A service
// may have a million tasks pending, so it is kept small, 96 bytes in the
// common case: the organization id is interned (one string per
// organization with tasks pending), the sensor and job ids are kept as
// 16-byte UUIDs, and what few tasks have lives behind rare.
type continuation struct {
	then      ReplyHandler
	onTimeout TimeoutHandler
	handler   string
	org       unique.Handle[string] // the organization id
	command   string
	sensor    uuid.UUID // the sensor id, unless rare holds it
	job       uuid.UUID // the job id, if any, unless rare holds it
	rare      *rareFields
}

// rareFields is the part of a continuation few tasks have: a sensor or job
// id not in canonical UUID form, state, and, with a shared store, which
// replica holds the closures.
type rareFields struct {
	sid, jobID string
	state      []byte

	// With a shared store, owner is the replica holding the closures
	// (then and onTimeout are set only there), and hasThen, hasOnTimeout
	// say which it holds.
	owner                 string
	hasThen, hasOnTimeout bool
}

// newContinuation returns the continuation of a task with these ids,
// command, handler name and state, and no closures.
func newContinuation(handler, oid, sid, command, jobID string, state []byte) *continuation {
	c := &continuation{handler: handler, org: unique.Make(oid), command: command}
	var ok bool
	if c.sensor, ok = canonicalUUID(sid); !ok {
		c.more().sid = sid
	}
	if jobID != "" {
		if c.job, ok = canonicalUUID(jobID); !ok {
			c.more().jobID = jobID
		}
	}
	if len(state) > 0 {
		c.more().state = state
	}
	return c
}

// more returns c's rare fields, adding them if c has none.
func (c *continuation) more() *rareFields {
	if c.rare == nil {
		c.rare = new(rareFields)
	}
	return c.rare
}

// canonicalUUID returns s as a UUID if s is one in canonical form
// (lowercase, as uuid.UUID.String gives, so that String gives s back) and
// not the zero UUID, which stands for none.
func canonicalUUID(s string) (uuid.UUID, bool) {
	u, ok := uuidtext.Parse(s)
	if !ok || u == (uuid.UUID{}) {
		return uuid.UUID{}, false
	}
	return u, true
}

func (c *continuation) oid() string { return c.org.Value() }

func (c *continuation) sid() string {
	if c.sensor != (uuid.UUID{}) {
		return c.sensor.String()
	}
	if c.rare != nil {
		return c.rare.sid
	}
	return ""
}

func (c *continuation) jobID() string {
	if c.job != (uuid.UUID{}) {
		return c.job.String()
	}
	if c.rare != nil {
		return c.rare.jobID
	}
	return ""
}

func (c *continuation) state() []byte {
	if c.rare == nil {
		return nil
	}
	return c.rare.state
}

func (c *continuation) owner() string {
	if c.rare == nil {
		return ""
	}
	return c.rare.owner
}

func (c *continuation) hasThen() bool { return c.rare != nil && c.rare.hasThen }

func (c *continuation) hasOnTimeout() bool { return c.rare != nil && c.rare.hasOnTimeout }
