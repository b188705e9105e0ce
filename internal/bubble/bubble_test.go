package bubble

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestGoroutinesLeftInABubble(t *testing.T) {
	if In() {
		t.Error("In outside a bubble")
	}
	if WaitLimit(t) <= 0 {
		t.Error("no time to wait outside a bubble")
	}
	synctest.Test(t, func(t *testing.T) {
		if !In() || WaitLimit(t) != time.Hour {
			t.Errorf("in a bubble: In %v, WaitLimit %v", In(), WaitLimit(t))
		}
		before := Goroutines(t)
		stop := make(chan struct{})
		go func() { <-stop }() // left behind, blocked
		go func() {}()         // ends
		synctest.Wait()
		left := StartedSince(t, before)
		if len(left) != 1 {
			t.Fatalf("%d goroutines left, want 1: %v", len(left), left)
		}
		close(stop)
		synctest.Wait()
		if left := StartedSince(t, before); len(left) != 0 {
			t.Errorf("after it ended: %v", left)
		}
	})
}

func TestAwaitReturnsTheValueSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int)
		go func() {
			time.Sleep(time.Minute) // virtual time: a value that comes late
			ch <- 7
		}()
		if v := Await(t, "the value", ch); v != 7 {
			t.Errorf("Await = %d, want 7", v)
		}
	})
}
