package lctest

import (
	"slices"
	"sync"
	"time"
)

// Org is an emulated LimaCharlie organization: sensors, a D&R rule store
// and the record of every task it accepted. Its methods are safe for
// concurrent use.
type Org struct {
	OID  string // random UUID
	Name string
	// JWT is the organization's bearer token: the API accepts it for this
	// organization only, and webhooks about the organization carry it.
	JWT string

	cloud *Cloud
	iid   string // installation key id shared by the org's sensors

	mu      sync.Mutex
	sensors []*Sensor
	rules   map[ruleKey]*compiledRule
	tasks   []TaskRecord
	seen    map[idemKey]bool // idempotency keys already tasked
}

// TaskRecord is one task call the API accepted.
type TaskRecord struct {
	SID             string
	Commands        []string // the tasks form values, in order
	InvestigationID string   // empty when the call had none
	IdempotencyKey  string   // the x-idempotent-key header, if any
	Time            time.Time
	// Offline is true when the sensor was offline: the call was accepted
	// (OfflineSilent) but the sensor never received the task.
	Offline bool
}

type idemKey struct{ sid, key string }

// NewOrg creates an organization with a random OID and an opaque random JWT.
func (c *Cloud) NewOrg(name string) *Org {
	o := &Org{
		OID:   newUUID(),
		Name:  name,
		JWT:   randomHex(32),
		cloud: c,
		iid:   newUUID(),
		rules: map[ruleKey]*compiledRule{},
		seen:  map[idemKey]bool{},
	}
	c.addOrg(o)
	return o
}

// Sensors returns the organization's sensors in the order they were added.
func (o *Org) Sensors() []*Sensor {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sensors)
}

// Tasks returns every task call the organization's sensors accepted, in
// order.
func (o *Org) Tasks() []TaskRecord {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.tasks)
	for i := range out {
		out[i].Commands = slices.Clone(out[i].Commands)
	}
	return out
}

// recordTask records an accepted task call. It reports false, recording
// nothing, when key was already used for the same sensor: the call is a
// retry and must not task the sensor twice.
func (o *Org) recordTask(t TaskRecord) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.IdempotencyKey != "" {
		k := idemKey{t.SID, t.IdempotencyKey}
		if o.seen[k] {
			return false
		}
		o.seen[k] = true
	}
	o.tasks = append(o.tasks, t)
	return true
}
