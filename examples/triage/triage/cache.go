package triage

import (
	"maps"
	"slices"
	"sync"
)

// rowCache keeps, per job, the rows that no longer fit in the token,
// keyed by file number so a redelivered answer does not count twice. It
// lives in this process only; an entry is dropped when its job closes.
type rowCache struct {
	mu   sync.Mutex
	jobs map[string]map[int]row
}

func newRowCache() *rowCache { return &rowCache{jobs: map[string]map[int]row{}} }

// put keeps r as file number i of job.
func (c *rowCache) put(job string, i int, r row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jobs[job] == nil {
		c.jobs[job] = map[int]row{}
	}
	c.jobs[job][i] = r
}

// rows returns job's rows in file order.
func (c *rowCache) rows(job string) []row {
	c.mu.Lock()
	defer c.mu.Unlock()
	byIndex := c.jobs[job]
	out := make([]row, 0, len(byIndex))
	for _, i := range slices.Sorted(maps.Keys(byIndex)) {
		out = append(out, byIndex[i])
	}
	return out
}

// forget drops job's rows.
func (c *rowCache) forget(job string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.jobs, job)
}

// len returns how many jobs have rows cached.
func (c *rowCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.jobs)
}
