package triage

import "github.com/lcsvc/lcservice/interactive"

// NewForTest is New that also returns how many jobs have rows in the
// process's row cache, so tests can check entries are dropped on close.
func NewForTest(secret string, o Options) (*interactive.Service, func() int, error) {
	t, err := newTriager(secret, o)
	if err != nil {
		return nil, nil, err
	}
	return t.is, t.cache.len, nil
}
