package lctest

import (
	"slices"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// Org is an emulated LimaCharlie organization: sensors and a D&R rule
// store. Its methods are safe for concurrent use.
type Org struct {
	OID  string // random UUID
	Name string
	// JWT is the organization's bearer token: the API accepts it for this
	// organization only, and webhooks about the organization carry it.
	JWT string

	cloud *Cloud
	iid   string // installation key id shared by the org's sensors
	rules *dr.Store

	mu      sync.Mutex
	sensors []*Sensor
	seen    map[idemKey]bool // idempotency keys already tasked
}

// TaskRecord is one task call the API accepted (or refused, in an
// ActivityTaskRefused).
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
		rules: dr.NewStore(),
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
// order: the ActivityTask entries of the cloud's record.
func (o *Org) Tasks() []TaskRecord {
	var out []TaskRecord
	for _, a := range o.cloud.activities(ActivityTask, func(a *Activity) bool { return a.OID == o.OID }) {
		t := *a.Task
		t.Commands = slices.Clone(t.Commands)
		out = append(out, t)
	}
	return out
}

// firstUse reports whether key is used for the first time with sensor
// sid, and remembers it. A call without a key is always a first use.
func (o *Org) firstUse(sid, key string) bool {
	if key == "" {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	k := idemKey{sid, key}
	if o.seen[k] {
		return false
	}
	o.seen[k] = true
	return true
}
