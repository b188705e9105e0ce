package service

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/internal/wire"
)

// De-duplication defaults (see NewDeliveryCache).
const (
	// DefaultDedupWindow is how long an answer is kept for redeliveries.
	DefaultDedupWindow = time.Hour
	// DefaultDedupEntries bounds the answers kept.
	DefaultDedupEntries = 10000
	// DefaultDedupBytes bounds the bytes of the answers kept.
	DefaultDedupBytes = 16 << 20
)

// dedupPoll is how often a delivery waiting for another one polls a store
// that cannot notify it (Delivery.Done nil).
const dedupPoll = 200 * time.Millisecond

// DeliveryStore remembers the webhooks a service has handled, by message,
// so that a message the cloud delivers again is answered without running
// its handler again. The service calls Begin when a webhook arrives and
// Finish when its handler has answered. The in-memory DeliveryCache is the
// default; a store shared by replicas extends de-duplication across them.
//
// Keys are opaque strings; the service builds them from its name and the
// message's event type, organization and message id.
type DeliveryStore interface {
	// Begin claims key for a delivery whose handler must answer by
	// deadline, or reports what an earlier delivery of the same message
	// left. An error means the store could not say; the service then
	// handles the delivery without de-duplication.
	Begin(ctx context.Context, key string, deadline time.Time) (Delivery, error)
	// Finish ends the claim Begin gave. With an answer, the answer is kept
	// for redeliveries; with nil (the handler asked for a retry) the key is
	// forgotten, so the next delivery runs the handler again.
	Finish(ctx context.Context, key string, answer []byte) error
}

// Delivery is what DeliveryStore.Begin found for a message.
type Delivery struct {
	// Claimed reports that no earlier delivery is known: the caller
	// handles this one and must call Finish.
	Claimed bool
	// Answer is the answer to an earlier delivery, when it has one.
	Answer []byte
	// Otherwise an earlier delivery is being handled, until Deadline.
	Deadline time.Time
	// Done, if not nil, is closed when that earlier delivery finishes; a
	// store that cannot notify leaves it nil and the caller asks again.
	Done <-chan struct{}
}

// answer answers m, de-duplicated by its key: a message delivered while
// an earlier delivery of it is being handled waits for that answer (until
// either's deadline; then it is answered retry, so the cloud tries once
// more later), and one delivered after gets the earlier answer. An answer
// asking for a retry is not kept: the redelivery runs the handler.
func (s *Service) answer(ctx context.Context, m wire.Message) wire.Answer {
	// Started under the service's own context: a client that disconnects
	// does not cancel a start other webhooks wait for.
	if err := s.startWith(s.bg.ctx, ctx); err != nil {
		return s.proto.Fail(err, true)
	}
	if s.deliveries == nil || m.Key == "" {
		return s.answerOnce(ctx, m)
	}
	for {
		d, err := s.deliveries.Begin(ctx, m.Key, m.Deadline)
		switch {
		case err != nil:
			if ok, n := s.dedupLog.Allow(time.Now()); ok {
				s.log.Warn("delivery store unavailable: handling the webhook without de-duplication", "error", err.Error(), "suppressed", n)
			}
			return s.answerOnce(ctx, m)
		case d.Claimed:
			return s.answerClaimed(ctx, m)
		case d.Answer != nil:
			s.stats.duplicates.Add(1)
			return wire.Answer{Status: http.StatusOK, Body: d.Answer, Keep: true}
		}
		if !waitDelivery(ctx, d, m.Deadline) {
			s.stats.duplicates.Add(1)
			return s.proto.Fail(errStillHandling, true)
		}
	}
}

var errStillHandling = errors.New("an earlier delivery of this message is still being handled")

// answerClaimed answers a claimed delivery and records its answer.
func (s *Service) answerClaimed(ctx context.Context, m wire.Message) (a wire.Answer) {
	var keep []byte
	defer func() {
		// Always end the claim, even if answering panicked.
		_ = s.deliveries.Finish(context.WithoutCancel(ctx), m.Key, keep)
	}()
	a = s.answerOnce(ctx, m)
	if a.Keep {
		keep = a.Body
	}
	return a
}

// answerOnce has the protocol answer m. A panic in the protocol's own
// code (a handler's is answered by the handler model) is answered retry.
func (s *Service) answerOnce(ctx context.Context, m wire.Message) (a wire.Answer) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("webhook failed", "reason", fmt.Sprintf("panic: %v", v), "protocol", s.proto.Kind(), "stack", string(debug.Stack()))
			a = s.proto.Fail(fmt.Errorf("answering panicked: %v", v), true)
		}
	}()
	return s.proto.Answer(ctx, m)
}

// waitDelivery waits for the earlier delivery d to finish. It reports
// false when the wait ends first: at d's deadline, at deadline, or with
// ctx.
func waitDelivery(ctx context.Context, d Delivery, deadline time.Time) bool {
	limit := deadline
	if !d.Deadline.IsZero() && d.Deadline.Before(limit) {
		limit = d.Deadline
	}
	wait := time.Until(limit)
	if wait <= 0 {
		return false
	}
	if d.Done == nil {
		wait = min(wait, dedupPoll)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.Done:
		return true
	case <-t.C:
		return d.Done == nil && time.Now().Before(limit)
	case <-ctx.Done():
		return false
	}
}

// DeliveryCache is the in-memory DeliveryStore: it keeps each answer for
// a window, at most a number of answers and of bytes (the oldest go
// first), and deliveries in progress for as long as they run. It is safe
// for concurrent use.
type DeliveryCache struct {
	window     time.Duration
	maxEntries int
	maxBytes   int64
	now        func() time.Time // time.Now; tests move it

	mu      sync.Mutex
	entries map[string]*deliveryEntry
	order   list.List // answered entries, oldest answer first
	bytes   int64
	peak    int // the most entries held since the map was last rebuilt
}

type deliveryEntry struct {
	key      string
	deadline time.Time     // while in progress
	done     chan struct{} // closed by Finish
	answer   []byte
	expires  time.Time
	elem     *list.Element
}

// NewDeliveryCache returns an in-memory DeliveryStore keeping answers for
// window, at most maxEntries of them and maxBytes in all; zero values take
// DefaultDedupWindow, DefaultDedupEntries and DefaultDedupBytes. An answer
// larger than an eighth of maxBytes is not kept.
func NewDeliveryCache(window time.Duration, maxEntries int, maxBytes int64) *DeliveryCache {
	if window <= 0 {
		window = DefaultDedupWindow
	}
	if maxEntries <= 0 {
		maxEntries = DefaultDedupEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultDedupBytes
	}
	return &DeliveryCache{window: window, maxEntries: maxEntries, maxBytes: maxBytes, now: time.Now, entries: map[string]*deliveryEntry{}}
}

// Begin implements DeliveryStore; it never fails.
func (c *DeliveryCache) Begin(_ context.Context, key string, deadline time.Time) (Delivery, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	e := c.entries[key]
	switch {
	case e == nil:
		c.entries[key] = &deliveryEntry{key: key, deadline: deadline, done: make(chan struct{})}
		c.peak = max(c.peak, len(c.entries))
		return Delivery{Claimed: true}, nil
	case e.answer != nil:
		return Delivery{Answer: e.answer}, nil
	}
	return Delivery{Deadline: e.deadline, Done: e.done}, nil
}

// Finish implements DeliveryStore; it never fails.
func (c *DeliveryCache) Finish(_ context.Context, key string, answer []byte) error {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.answer != nil {
		return nil
	}
	close(e.done)
	if answer == nil || int64(len(answer)) > c.maxBytes/8 {
		c.deleteLocked(e)
		return nil
	}
	e.answer, e.expires, e.done = answer, now.Add(c.window), nil
	e.elem = c.order.PushBack(e)
	c.bytes += int64(len(answer))
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.deleteLocked(c.order.Front().Value.(*deliveryEntry))
	}
	return nil
}

// Len reports the messages held: answered, and in progress.
func (c *DeliveryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// expireLocked drops answers past their window.
func (c *DeliveryCache) expireLocked(now time.Time) {
	for f := c.order.Front(); f != nil; f = c.order.Front() {
		e := f.Value.(*deliveryEntry)
		if now.Before(e.expires) {
			return
		}
		c.deleteLocked(e)
	}
}

func (c *DeliveryCache) deleteLocked(e *deliveryEntry) {
	if e.elem != nil {
		c.order.Remove(e.elem)
		c.bytes -= int64(len(e.answer))
		e.elem = nil
	}
	delete(c.entries, e.key)
	// A Go map keeps the room of its largest size: after a burst, move
	// the survivors to a map sized for them.
	if c.peak >= 1024 && len(c.entries) < c.peak/4 {
		m := make(map[string]*deliveryEntry, len(c.entries))
		for k, v := range c.entries {
			m[k] = v
		}
		c.entries, c.peak = m, len(m)
	}
}
