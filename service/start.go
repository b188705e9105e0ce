package service

import (
	"context"
	"fmt"
	"sync"
)

// starter runs the startup hooks until they have all succeeded once.
// Concurrent callers share one attempt; a failed attempt is forgotten, so
// the next caller tries again from the hook that failed.
type starter struct {
	mu      sync.Mutex
	done    int           // hooks that have succeeded, in order
	started bool          // every hook has succeeded
	running chan struct{} // closed when the attempt in progress ends
	err     error         // result of the attempt that closed running
	warned  bool          // the no-secret warning was logged
}

// Start runs the startup hooks (OnStartup) under ctx and reports the first
// error. Once they have all succeeded, Start returns nil at once. A caller
// arriving while another start is in progress waits for it (or for its own
// ctx). A failed start is not remembered: the next Start runs again from
// the hook that failed, so a service whose dependency was briefly down
// recovers without a restart. ListenAndServe calls Start before it accepts
// connections; a Service mounted as a plain http.Handler is started by its
// first webhook, under a context that no client can cancel.
func (s *Service) Start(ctx context.Context) error { return s.startWith(ctx, ctx) }

// startWith runs an attempt under run if none is in progress and waits for
// the attempt with wait.
func (s *Service) startWith(run, wait context.Context) error {
	st := &s.start
	st.mu.Lock()
	if st.started {
		st.mu.Unlock()
		return nil
	}
	if !st.warned && len(s.secret) == 0 {
		st.warned = true
		s.log.Log(run, LevelCritical, "service started WITHOUT signature verification: anyone who can reach it can call it; set a shared secret")
	}
	ch := st.running
	if ch == nil {
		ch = make(chan struct{})
		st.running = ch
		go s.runStartup(run, ch)
	}
	st.mu.Unlock()
	select {
	case <-ch:
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.started {
			return nil
		}
		return st.err
	case <-wait.Done():
		return fmt.Errorf("waiting for the service to start: %w", wait.Err())
	}
}

// runStartup runs the hooks not yet done, records the outcome and closes ch.
func (s *Service) runStartup(ctx context.Context, ch chan struct{}) {
	st := &s.start
	s.mu.RLock()
	hooks := append([]func(context.Context) error(nil), s.startup...)
	s.mu.RUnlock()
	st.mu.Lock()
	next := st.done
	st.mu.Unlock()

	var err error
	for next < len(hooks) {
		if err = runHook(ctx, hooks[next]); err != nil {
			err = fmt.Errorf("startup hook %d of %d: %w", next+1, len(hooks), err)
			s.log.Error("startup failed; the next webhook tries again", "error", err)
			break
		}
		next++
	}

	st.mu.Lock()
	st.done = next
	st.started = err == nil
	st.err = err
	st.running = nil
	st.mu.Unlock()
	close(ch)
}

// runHook calls h, turning a panic into an error.
func runHook(ctx context.Context, h func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	return h(ctx)
}
