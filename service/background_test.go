package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The background helpers are about time: their tests run in a synctest
// bubble, where time is virtual and advances only once every goroutine is
// blocked, so they neither wait in real time nor depend on how fast the
// machine is.

func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		start := time.Now()
		ran := make(chan time.Time, 1)
		svc.Delay(time.Minute, func(context.Context) { ran <- time.Now() })
		if at := <-ran; at.Sub(start) != time.Minute {
			t.Fatalf("Delay ran after %v, want 1m", at.Sub(start))
		}

		var count atomic.Int32
		stop := svc.Delay(time.Hour, func(context.Context) { count.Add(1) })
		if !stop() {
			t.Error("stop did not report preventing the run")
		}
		if stop() {
			t.Error("second stop reported preventing the run again")
		}
		time.Sleep(2 * time.Hour) // virtual time: the stopped delay would have passed
		if count.Load() != 0 {
			t.Error("stopped Delay ran")
		}
	})
}

func TestScheduleAndShutdownWaitsForRunningTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		var hookRan atomic.Bool
		svc.OnShutdown(func(context.Context) { hookRan.Store(true) })
		inTick := make(chan struct{})
		var ticks, finished atomic.Int32
		svc.Schedule(time.Millisecond, func(ctx context.Context) {
			if ticks.Add(1) == 1 {
				close(inTick)
				<-ctx.Done() // a long tick that only ends when asked
				// ...and takes a while (virtual) to wind up: Shutdown must wait.
				time.Sleep(20 * time.Millisecond)
				finished.Add(1)
			}
		})
		<-inTick
		if err := svc.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if finished.Load() != 1 {
			t.Error("Shutdown returned before the running tick finished")
		}
		if !hookRan.Load() {
			t.Error("OnShutdown hook did not run")
		}
		n := ticks.Load()
		if svc.Go(func(context.Context) { ticks.Add(100) }) {
			t.Error("Go accepted work after Shutdown")
		}
		if ticks.Load() != n {
			t.Error("work ran after Shutdown")
		}
	})
}

func TestScheduleStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		var ticks atomic.Int32
		start := time.Now()
		stop := svc.Schedule(time.Second, func(context.Context) { ticks.Add(1) })
		time.Sleep(2*time.Second + time.Second/2) // virtual time: two ticks are due
		if n := ticks.Load(); n != 2 {
			t.Fatalf("%d ticks in %v at 1 s intervals, want 2", n, time.Since(start))
		}
		stop()
		time.Sleep(10 * time.Second) // virtual time: ten more intervals pass
		if n := ticks.Load(); n != 2 {
			t.Errorf("%d ticks after stop returned", n-2)
		}
		stop() // idempotent
	})
}

func TestShutdownHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		release := make(chan struct{})
		svc.Go(func(context.Context) { <-release }) // ignores cancellation
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := svc.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want deadline exceeded", err)
		}
		if took := time.Since(start); took != 20*time.Millisecond {
			t.Errorf("Shutdown returned after %v, want at its context's deadline (20ms)", took)
		}
		close(release)
	})
}

func TestParallelExec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		items := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		var running, peak atomic.Int32
		res := ParallelExec(context.Background(), 3, items, func(_ context.Context, n int) (string, error) {
			cur := running.Add(1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			// Work that takes a while, so items overlap. In the bubble,
			// virtual time moves only once every item running is here.
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			switch n {
			case 4:
				return "", fmt.Errorf("item %d failed", n)
			case 7:
				panic("seven")
			}
			return fmt.Sprint(n * n), nil
		})
		if peak.Load() != 3 {
			t.Errorf("peak concurrency %d, want the limit, 3", peak.Load())
		}
		for i, r := range res {
			switch items[i] {
			case 4, 7:
				if r.Err == nil {
					t.Errorf("item %d: no error", items[i])
				}
			default:
				if r.Err != nil || r.Value != fmt.Sprint(items[i]*items[i]) {
					t.Errorf("item %d: %+v (out of order?)", items[i], r)
				}
			}
		}
	})
}

func TestParallelExecHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	res := ParallelExec(ctx, 1, []int{1, 2, 3, 4}, func(_ context.Context, n int) (int, error) {
		ran.Add(1)
		if n == 2 {
			cancel()
		}
		return n, nil
	})
	if ran.Load() != 2 {
		t.Errorf("%d items ran after cancellation at the second", ran.Load())
	}
	if res[0].Err != nil || res[1].Err != nil || !errors.Is(res[2].Err, context.Canceled) || !errors.Is(res[3].Err, context.Canceled) {
		t.Errorf("results = %+v", res)
	}
	if got := ParallelExec(context.Background(), 0, []int{5}, func(_ context.Context, n int) (int, error) { return n, nil }); got[0].Value != 5 {
		t.Errorf("limit 0: %+v", got)
	}
}
