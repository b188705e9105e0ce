package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestRedeliveryAnsweredFromTheFirst(t *testing.T) {
	svc, _, _ := newTestService(t)
	var runs atomic.Int32
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		return OK(map[string]int32{"run": runs.Add(1)})
	})
	env := envelopeFor(OrgInstall, nil)
	first := postSigned(t, svc, env)
	env["jwt"] = "a-fresh-jwt" // a redelivery may carry a new JWT and deadline
	env["deadline"] = time.Now().Add(10 * time.Minute).Unix()
	again := postSigned(t, svc, env)
	if runs.Load() != 1 || string(first.Data) != `{"run":1}` || string(again.Data) != string(first.Data) {
		t.Errorf("handler ran %d times; answers %s and %s", runs.Load(), first.Data, again.Data)
	}
	// Another message, or the same mid for another organization or event
	// type, is not a redelivery.
	postSigned(t, svc, envelopeFor(OrgInstall, nil))
	other := envelopeFor(OrgInstall, nil)
	other["mid"], other["oid"] = env["mid"], "99999999-2222-3333-4444-555555555555"
	postSigned(t, svc, other)
	if runs.Load() != 3 || svc.Stats().Duplicates != 1 {
		t.Errorf("handler ran %d times, %d duplicates; want 3 and 1", runs.Load(), svc.Stats().Duplicates)
	}
}

// The waits of de-duplication are about time: the tests that wait run in
// a synctest bubble (no sockets: the Service's handler is called
// directly), where synctest.Wait says when every delivery has arrived and
// is waiting, and time is virtual.

func TestConcurrentRedeliveriesRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		var runs atomic.Int32
		release := make(chan struct{})
		svc.OnOrgInstall(func(context.Context, *Request) Response {
			n := runs.Add(1)
			<-release
			return OK(map[string]int32{"run": n})
		})
		env := envelopeFor(OrgInstall, nil)
		var wg sync.WaitGroup
		answers := make([]wireResult, 10)
		for i := range answers {
			wg.Go(func() { answers[i] = postSigned(t, svc, env) })
		}
		synctest.Wait() // one delivery in the handler, the others waiting for it
		if n := runs.Load(); n != 1 {
			t.Errorf("handler running %d times for one message", n)
		}
		close(release)
		wg.Wait()
		for i, a := range answers {
			if !a.Success || string(a.Data) != `{"run":1}` {
				t.Errorf("delivery %d answered %+v", i, a)
			}
		}
		if runs.Load() != 1 || svc.Stats().Duplicates != 9 {
			t.Errorf("handler ran %d times, %d duplicates", runs.Load(), svc.Stats().Duplicates)
		}
	})
}

func TestRetryAnswerIsNotKept(t *testing.T) {
	svc, _, _ := newTestService(t)
	var runs atomic.Int32
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		if runs.Add(1) == 1 {
			return Retry(errors.New("not yet"))
		}
		return OK(nil)
	})
	env := envelopeFor(OrgInstall, nil)
	if res := postSigned(t, svc, env); !res.Retry {
		t.Fatalf("first: %+v", res)
	}
	if res := postSigned(t, svc, env); !res.Success {
		t.Fatalf("redelivery after retry: %+v", res)
	}
	if res := postSigned(t, svc, env); !res.Success || runs.Load() != 2 {
		t.Fatalf("third: %+v after %d runs", res, runs.Load())
	}
	// A failure that is not a retry is an answer like any other.
	svc.OnOrgUninstall(func(context.Context, *Request) Response { runs.Add(1); return Failf("no") })
	env = envelopeFor(OrgUninstall, nil)
	postSigned(t, svc, env)
	if res := postSigned(t, svc, env); res.Error != "no" || runs.Load() != 3 {
		t.Errorf("failed answer replayed as %+v after %d runs", res, runs.Load())
	}
}

// Without the bound of the earlier delivery's deadline (d.Deadline in
// waitDelivery), the redelivery waits for its own: "answered at
// 2000-01-01 00:01:00 ..., want at the first delivery's deadline ...".
func TestRedeliveryWaitIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		release := make(chan struct{})
		defer close(release)
		svc.OnOrgInstall(func(context.Context, *Request) Response {
			<-release // ignores its context
			return OK(nil)
		})
		env := envelopeFor(OrgInstall, nil)
		firstDeadline := time.Now().Add(time.Second)
		env["deadline"] = float64(firstDeadline.UnixMilli()) / 1000
		go postSigned(t, svc, env)
		synctest.Wait() // the first delivery is in its handler
		// An unbounded wait would leave every goroutine blocked with no
		// timer to fire: synctest reports that as a deadlock.
		env["deadline"] = time.Now().Add(time.Minute).Unix()
		res := postSigned(t, svc, env)
		if !res.Retry || !strings.Contains(res.Error, "still being handled") {
			t.Errorf("redelivery while the first is stuck: %+v", res)
		}
		if now := time.Now(); !now.Equal(firstDeadline) {
			t.Errorf("answered at %v, want at the first delivery's deadline %v", now, firstDeadline)
		}
	})
}

func TestDeduplicationOff(t *testing.T) {
	svc, _, _ := newTestService(t, WithDeliveryStore(nil))
	var runs atomic.Int32
	svc.OnOrgInstall(func(context.Context, *Request) Response { runs.Add(1); return OK(nil) })
	env := envelopeFor(OrgInstall, nil)
	postSigned(t, svc, env)
	postSigned(t, svc, env)
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times without de-duplication", runs.Load())
	}
}

// pollingStore is a DeliveryCache that cannot notify, as a shared store
// might not.
type pollingStore struct{ *DeliveryCache }

func (p pollingStore) Begin(ctx context.Context, key string, deadline time.Time) (Delivery, error) {
	d, err := p.DeliveryCache.Begin(ctx, key, deadline)
	d.Done = nil
	return d, err
}

// failingStore cannot answer.
type failingStore struct{}

func (failingStore) Begin(context.Context, string, time.Time) (Delivery, error) {
	return Delivery{}, errors.New("store down")
}
func (failingStore) Finish(context.Context, string, []byte) error { return errors.New("store down") }

func TestDeliveryStoresThatPollOrFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, errLog := newTestService(t, WithDeliveryStore(pollingStore{NewDeliveryCache(0, 0, 0)}))
		var runs atomic.Int32
		release := make(chan struct{})
		svc.OnOrgInstall(func(context.Context, *Request) Response { runs.Add(1); <-release; return OK(nil) })
		env := envelopeFor(OrgInstall, nil)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if res := postSigned(t, svc, env); !res.Success {
					t.Errorf("answer %+v", res)
				}
			})
		}
		synctest.Wait() // one delivery in the handler, two polling
		// Virtual time: the two poll the store several times while the first
		// runs, finding it still in progress each time.
		time.Sleep(5 * dedupPoll)
		if n := runs.Load(); n != 1 {
			t.Errorf("polling store: handler running %d times", n)
		}
		close(release)
		wg.Wait()
		if runs.Load() != 1 {
			t.Errorf("polling store: handler ran %d times", runs.Load())
		}

		svc2, out, _ := newTestService(t, WithDeliveryStore(failingStore{}))
		svc2.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
		if res := postSigned(t, svc2, envelopeFor(OrgInstall, nil)); !res.Success {
			t.Errorf("failing store: %+v", res)
		}
		if !strings.Contains(out.String()+errLog.String(), "without de-duplication") {
			t.Errorf("store failure not logged: %s", out)
		}
	})
}

func TestDeliveryCacheBounds(t *testing.T) {
	ctx := context.Background()
	far := time.Now().Add(time.Hour)
	c := NewDeliveryCache(time.Minute, 3, 800)
	clock := time.Now()
	c.now = func() time.Time { return clock }
	for i := range 5 {
		k := fmt.Sprint("k", i)
		if d, _ := c.Begin(ctx, k, far); !d.Claimed {
			t.Fatalf("%s not claimed", k)
		}
		_ = c.Finish(ctx, k, []byte("answer"))
	}
	if c.Len() != 3 {
		t.Errorf("%d answers kept, capacity 3", c.Len())
	}
	if d, _ := c.Begin(ctx, "k0", far); !d.Claimed {
		t.Error("the oldest answer was not the one evicted")
	}
	if d, _ := c.Begin(ctx, "k4", far); string(d.Answer) != "answer" {
		t.Errorf("k4: %+v", d)
	}
	_ = c.Finish(ctx, "k0", make([]byte, 101)) // over an eighth of 800: not kept
	if d, _ := c.Begin(ctx, "k0", far); !d.Claimed {
		t.Error("an answer too large to keep was kept")
	}
	_ = c.Finish(ctx, "k0", nil)
	clock = clock.Add(time.Minute)
	if d, _ := c.Begin(ctx, "k4", far); !d.Claimed {
		t.Error("an answer outlived its window")
	}

	// After a burst, the map is rebuilt small.
	big := NewDeliveryCache(time.Hour, 100000, 1<<30)
	for i := range 5000 {
		k := fmt.Sprint("b", i)
		big.Begin(ctx, k, far)
		_ = big.Finish(ctx, k, nil)
	}
	if big.peak > 1024 || big.Len() != 0 {
		t.Errorf("after the burst: %d held, peak %d", big.Len(), big.peak)
	}
}
