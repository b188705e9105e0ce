package tracking

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/service"
)

// RedisDeliveries is a [service.DeliveryStore] shared through Redis by every
// replica of a service that uses the same Prefix: a webhook the cloud
// delivers again is answered from the first delivery's answer whichever
// replica handled it, and of two deliveries of one message arriving at
// once on different replicas, exactly one runs the handler. Pass it to
// [service.WithDeliveryStore].
//
// A delivery in progress is held until its handler's deadline, so a claim
// left by a replica that crashed ends then; a delivery waiting for it
// polls (Begin leaves Delivery.Done nil). An answer is
// kept for Window. When Redis does not answer, Begin fails with an error
// matching [ErrUnavailable] and the service handles the webhook without
// de-duplication.
//
// It is safe for concurrent use. It holds nothing but its options: there is
// nothing to close, and the client stays the caller's.
type RedisDeliveries struct {
	s         claimStore
	window    time.Duration
	maxAnswer int
}

var _ service.DeliveryStore = (*RedisDeliveries)(nil)

// RedisDeliveriesOptions configure a [RedisDeliveries]. Prefix is required.
type RedisDeliveriesOptions struct {
	// Prefix starts every key the store writes, as [RedisOptions.Prefix]
	// does; it may be the one the service's [Redis] store uses. Every
	// replica of a service uses the same Prefix: that is what makes them
	// share their deliveries.
	Prefix string
	// Window is how long an answer is kept for redeliveries. Zero means
	// service.DefaultDedupWindow.
	Window time.Duration
	// MaxAnswer is the largest answer kept, in bytes: a larger answer is
	// not kept, so a redelivery runs the handler again (as a
	// service.DeliveryCache does). Zero means service.DefaultDedupBytes/8
	// (2 MiB), what a default DeliveryCache keeps.
	MaxAnswer int
	// CallTimeout bounds every call to Redis, whether or not the caller's
	// context has a deadline. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
}

// NewRedisDeliveries returns a delivery store on client. It makes no call
// to Redis: [RedisFromURL] checks that the server answers. It fails with
// [ErrInvalidOptions] for a nil client, an empty Prefix or a negative
// duration or size.
func NewRedisDeliveries(client redis.UniversalClient, opts RedisDeliveriesOptions) (*RedisDeliveries, error) {
	s, err := newClaimStore(client, opts.Prefix, "deliveries:", opts.CallTimeout)
	if err != nil {
		return nil, err
	}
	if opts.Window < 0 {
		return nil, fmt.Errorf("%w: Window is %v; use a positive duration, or 0 for the default", ErrInvalidOptions, opts.Window)
	}
	if opts.MaxAnswer < 0 {
		return nil, fmt.Errorf("%w: MaxAnswer is %d; use a positive size in bytes, or 0 for the default", ErrInvalidOptions, opts.MaxAnswer)
	}
	if opts.Window == 0 {
		opts.Window = service.DefaultDedupWindow
	}
	if opts.MaxAnswer == 0 {
		opts.MaxAnswer = service.DefaultDedupBytes / 8
	}
	return &RedisDeliveries{s: s, window: opts.Window, maxAnswer: opts.MaxAnswer}, nil
}

// answerScript records an answer unless the key holds one: the first
// answer to a message is the one every redelivery gets.
//
// KEYS: the message's key. ARGV: a<answer>, the window in milliseconds.
// Returns 1 if recorded, else 0.
var answerScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'a' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Begin implements service.DeliveryStore. A claim lasts until deadline
// (read on this process's clock; at least a millisecond). Errors match
// ErrUnavailable when Redis did not answer; a claim made by a call that
// timed out may hold the key until deadline. A record under the key that
// this store did not write is an error too.
func (d *RedisDeliveries) Begin(ctx context.Context, key string, deadline time.Time) (service.Delivery, error) {
	v, err := d.s.begin(ctx, "delivery begin", key, deadline, time.Until(deadline))
	switch {
	case err != nil:
		return service.Delivery{}, err
	case v == "":
		return service.Delivery{Claimed: true}, nil
	case v[0] == 'a':
		return service.Delivery{Answer: append([]byte{}, v[1:]...)}, nil
	}
	until, ok := claimUntil(v)
	if !ok {
		return service.Delivery{}, fmt.Errorf("tracking: redis delivery begin %q: %s holds a record this store did not write; give the store a Prefix of its own", key, d.s.key(key))
	}
	return service.Delivery{Deadline: until}, nil
}

// Finish implements service.DeliveryStore. An answer is kept for Window
// unless an earlier delivery's is (the first answer stays); a nil or
// oversize answer forgets the key, if this store's claim still holds it
// (not one another replica made after this one's expired). Errors match
// ErrUnavailable.
func (d *RedisDeliveries) Finish(ctx context.Context, key string, answer []byte) error {
	if answer == nil || len(answer) > d.maxAnswer {
		return d.s.release(ctx, "delivery finish", key)
	}
	value := make([]byte, 0, 1+len(answer))
	value = append(append(value, 'a'), answer...)
	err := d.s.call(ctx, func(ctx context.Context) error {
		return answerScript.Run(ctx, d.s.client, []string{d.s.key(key)}, value, max(ceilDuration(d.window), 1)).Err()
	})
	if err != nil {
		return redisFailed("delivery finish", key, err)
	}
	return nil
}
