package interactive

import (
	"sync"

	"github.com/lcsvc/lcservice/jobs"
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

func (o *orgState) rememberJWT(oid, jwt string) {
	if oid == "" || jwt == "" {
		return
	}
	o.mu.Lock()
	o.jwt[oid] = jwt
	o.mu.Unlock()
}

func (o *orgState) latestJWT(oid string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.jwt[oid]
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

func (o *orgState) forget(oid string) {
	o.mu.Lock()
	delete(o.jwt, oid)
	delete(o.queued, oid)
	o.mu.Unlock()
}
