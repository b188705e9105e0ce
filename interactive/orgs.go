package interactive

import (
	"context"
	"sync"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
)

// orgStore remembers, per organization, the latest JWT seen (so timeout
// handlers can still call the API) and the job updates of timeouts
// waiting for a response to that organization to ride on. orgState keeps
// them in memory; sharedOrgs in Redis, for every replica.
type orgStore interface {
	// remember keeps org's JWT if the message carried one.
	remember(ctx context.Context, org tasking.Org)
	// latest returns organization oid with the latest JWT seen for it.
	latest(ctx context.Context, oid string) tasking.Org
	// queue keeps j's updates until a response to oid carries them.
	queue(ctx context.Context, oid string, j *jobs.Job)
	// take removes and returns the job updates queued for oid.
	take(ctx context.Context, oid string) []*jobs.Job
	// queuedLen counts the job updates waiting across organizations.
	queuedLen() int
	// forget drops what is kept for oid.
	forget(ctx context.Context, oid string)
}

// orgState is the in-memory orgStore of a single process.
type orgState struct {
	mu     sync.Mutex
	jwt    map[string]string
	queued map[string][]*jobs.Job
}

var _ orgStore = (*orgState)(nil)

func newOrgState() *orgState {
	return &orgState{jwt: map[string]string{}, queued: map[string][]*jobs.Job{}}
}

func (o *orgState) remember(_ context.Context, org tasking.Org) {
	if org.ID == "" || org.JWT == "" {
		return
	}
	o.mu.Lock()
	o.jwt[org.ID] = org.JWT
	o.mu.Unlock()
}

func (o *orgState) latest(_ context.Context, oid string) tasking.Org {
	o.mu.Lock()
	defer o.mu.Unlock()
	return tasking.Org{ID: oid, JWT: o.jwt[oid]}
}

func (o *orgState) queue(_ context.Context, oid string, j *jobs.Job) {
	o.mu.Lock()
	o.queued[oid] = append(o.queued[oid], j)
	o.mu.Unlock()
}

func (o *orgState) take(_ context.Context, oid string) []*jobs.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queued[oid]
	delete(o.queued, oid)
	return q
}

func (o *orgState) queuedLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, q := range o.queued {
		n += len(q)
	}
	return n
}

func (o *orgState) forget(_ context.Context, oid string) {
	o.mu.Lock()
	delete(o.jwt, oid)
	delete(o.queued, oid)
	o.mu.Unlock()
}
