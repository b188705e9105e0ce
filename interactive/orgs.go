package interactive

import (
	"sync"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
)

// orgState remembers, per organization, the latest JWT seen (so timeout
// handlers can still call the API) and job updates waiting for a response
// to ride on.
type orgState struct {
	mu     sync.Mutex
	jwt    map[string]string
	queued map[string][]*jobs.Job
}

func newOrgState() *orgState {
	return &orgState{jwt: map[string]string{}, queued: map[string][]*jobs.Job{}}
}

// remember keeps org's JWT if the message carried one.
func (o *orgState) remember(org tasking.Org) {
	if org.ID == "" || org.JWT == "" {
		return
	}
	o.mu.Lock()
	o.jwt[org.ID] = org.JWT
	o.mu.Unlock()
}

// latest returns organization oid with the latest JWT seen for it.
func (o *orgState) latest(oid string) tasking.Org {
	o.mu.Lock()
	defer o.mu.Unlock()
	return tasking.Org{ID: oid, JWT: o.jwt[oid]}
}

func (o *orgState) queue(oid string, j *jobs.Job) {
	o.mu.Lock()
	o.queued[oid] = append(o.queued[oid], j)
	o.mu.Unlock()
}

// take removes and returns the job updates queued for oid.
func (o *orgState) take(oid string) []*jobs.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queued[oid]
	delete(o.queued, oid)
	return q
}

// queuedLen counts the job updates waiting across organizations.
func (o *orgState) queuedLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, q := range o.queued {
		n += len(q)
	}
	return n
}

func (o *orgState) forget(oid string) {
	o.mu.Lock()
	delete(o.jwt, oid)
	delete(o.queued, oid)
	o.mu.Unlock()
}
