package ratelog

import (
	"sync"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	var g Gate
	t0 := time.Unix(1000, 0)
	if ok, n := g.Allow(t0); !ok || n != 0 {
		t.Fatalf("first line: %v %d", ok, n)
	}
	for i := range 5 {
		if ok, _ := g.Allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatalf("line %d within the interval let through", i)
		}
	}
	if ok, n := g.Allow(t0.Add(DefaultInterval)); !ok || n != 5 {
		t.Fatalf("after the interval: %v, %d held back; want true, 5", ok, n)
	}
	g2 := Gate{Interval: time.Millisecond}
	g2.Allow(t0)
	if ok, n := g2.Allow(t0.Add(time.Millisecond)); !ok || n != 0 {
		t.Fatalf("custom interval: %v %d", ok, n)
	}
}

func TestGateConcurrent(t *testing.T) {
	var g Gate
	now := time.Now()
	var mu sync.Mutex
	allowed, held := 0, int64(0)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			ok, _ := g.Allow(now)
			mu.Lock()
			if ok {
				allowed++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	_, held = g.Allow(now.Add(DefaultInterval))
	if allowed != 1 || held != 99 {
		t.Errorf("allowed %d, held back %d; want 1 and 99", allowed, held)
	}
}
