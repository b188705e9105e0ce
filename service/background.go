package service

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// background tracks the goroutines started by Delay, Schedule and Go so that
// Shutdown can stop and await them.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

func (b *background) init() { b.ctx, b.cancel = context.WithCancel(context.Background()) }

// spawn runs fn in a tracked goroutine unless shutdown has begun.
func (b *background) spawn(fn func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn(b.ctx)
	}()
	return true
}

// Go runs fn in the background; its ctx is cancelled by Shutdown, which waits
// for fn to return. It reports false, and does not run fn, once Shutdown has begun.
func (s *Service) Go(fn func(ctx context.Context)) bool { return s.bg.spawn(fn) }

// Delay runs fn once after d, unless Shutdown or the returned stop function
// comes first. stop reports whether it prevented fn from running.
func (s *Service) Delay(d time.Duration, fn func(ctx context.Context)) (stop func() bool) {
	cancel := make(chan struct{})
	var once sync.Once
	fired := make(chan bool, 1)
	started := s.bg.spawn(func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fired <- true
			fn(ctx)
		case <-cancel:
			fired <- false
		case <-ctx.Done():
			fired <- false
		}
	})
	return func() bool {
		if !started {
			return false
		}
		stopped := false
		once.Do(func() {
			close(cancel)
			stopped = !<-fired
		})
		return stopped
	}
}

// Schedule runs fn every interval (first after one interval) until Shutdown
// or the returned stop function. A tick that is still running when the next
// is due delays it rather than overlapping. stop waits for a running tick.
func (s *Service) Schedule(interval time.Duration, fn func(ctx context.Context)) (stop func()) {
	cancel := make(chan struct{})
	done := make(chan struct{})
	var once sync.Once
	started := s.bg.spawn(func(ctx context.Context) {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(ctx)
			case <-cancel:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		once.Do(func() {
			close(cancel)
			if started {
				<-done
			}
		})
	}
}

// Shutdown stops background work (Delay, Schedule, Go), waits for it to
// return or ctx to end, then runs the OnShutdown hooks. It does not stop an
// HTTP server; ListenAndServe does that before calling Shutdown.
func (s *Service) Shutdown(ctx context.Context) error {
	s.bg.mu.Lock()
	first := !s.bg.closed
	s.bg.closed = true
	s.bg.mu.Unlock()
	s.bg.cancel()
	done := make(chan struct{})
	go func() {
		s.bg.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if first {
		s.mu.RLock()
		hooks := append([]func(context.Context){}, s.shutdown...)
		s.mu.RUnlock()
		for _, h := range hooks {
			h(ctx)
		}
	}
	return nil
}

// Result is one outcome of ParallelExec.
type Result[R any] struct {
	Value R
	Err   error
}

// ParallelExec runs fn over items with at most limit running at once
// (limit < 1 means one) and returns the results in the order of items.
// Errors are values: one failing item does not stop the others. Once ctx is
// done, items not yet started get ctx's error without running.
func ParallelExec[T, R any](ctx context.Context, limit int, items []T, fn func(ctx context.Context, item T) (R, error)) []Result[R] {
	if limit < 1 {
		limit = 1
	}
	out := make([]Result[R], len(items))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, item := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < len(items); j++ {
				out[j].Err = ctx.Err()
			}
			wg.Wait()
			return out
		}
		if err := ctx.Err(); err != nil {
			<-sem
			out[i].Err = err
			continue
		}
		wg.Add(1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					out[i].Err = fmt.Errorf("item %d panicked: %v", i, v)
				}
				<-sem
				wg.Done()
			}()
			out[i].Value, out[i].Err = fn(ctx, item)
		}()
	}
	wg.Wait()
	return out
}
