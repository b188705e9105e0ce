package tracking

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/extension"
)

// DefaultIdempotencyClaimTTL is how long a [RedisIdempotency] claim lasts
// by default: the extension transport's handler deadline
// (extension.DefaultDeadline, 590 s) and a margin for the answer to be
// recorded.
const DefaultIdempotencyClaimTTL = 10 * time.Minute

// RedisIdempotency is an [extension.IdempotencyStore] shared through Redis
// by every replica of an extension that uses the same Prefix: a delivery
// the platform repeats (same idempotency_key) is handled once whichever
// replica it reaches, and of two arriving at once on different replicas
// exactly one is handled while the other is told to come back
// ([extension.ErrInProgress]). Pass it to [extension.WithIdempotencyStore].
//
// A claim lasts ClaimTTL, so one left by a replica that crashed ends then;
// an answer is recorded for TTL. When Redis does not answer, Begin fails
// with an error matching [ErrUnavailable] and the transport answers 500,
// retriable: the platform delivers again later.
//
// It is safe for concurrent use. It holds nothing but its options: there is
// nothing to close, and the client stays the caller's.
type RedisIdempotency struct {
	s         claimStore
	ttl       time.Duration
	claimTTL  time.Duration
	maxAnswer int
}

var _ extension.IdempotencyStore = (*RedisIdempotency)(nil)

// RedisIdempotencyOptions configure a [RedisIdempotency]. Prefix is
// required.
type RedisIdempotencyOptions struct {
	// Prefix starts every key the store writes, as [RedisOptions.Prefix]
	// does; it may be the one the service's other stores use. Every replica
	// of a service uses the same Prefix: that is what makes them share
	// their deliveries.
	Prefix string
	// TTL is how long an answer is recorded. Zero means
	// extension.DefaultIdempotencyTTL.
	TTL time.Duration
	// ClaimTTL is how long a delivery in progress holds its key: at least
	// the transport's handler deadline (extension.WithDeadline), or a
	// repeat may be handled while the first still runs. Zero means
	// DefaultIdempotencyClaimTTL.
	ClaimTTL time.Duration
	// MaxAnswer is the largest answer body recorded, in bytes: a larger
	// answer is recorded without its body, and a repeated delivery gets a
	// success with no data (as with extension.MemoryIdempotency). Zero
	// means extension.DefaultIdempotencyMaxEntry.
	MaxAnswer int
	// CallTimeout bounds every call to Redis, whether or not the caller's
	// context has a deadline. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
}

// NewRedisIdempotency returns an idempotency store on client. It makes no
// call to Redis: [RedisFromURL] checks that the server answers. It fails
// with [ErrInvalidOptions] for a nil client, an empty Prefix or a
// negative duration or size.
func NewRedisIdempotency(client redis.UniversalClient, opts RedisIdempotencyOptions) (*RedisIdempotency, error) {
	s, err := newClaimStore(client, opts.Prefix, "idempotency:", opts.CallTimeout)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TTL", opts.TTL}, {"ClaimTTL", opts.ClaimTTL}} {
		if d.v < 0 {
			return nil, fmt.Errorf("%w: %s is %v; use a positive duration, or 0 for the default", ErrInvalidOptions, d.name, d.v)
		}
	}
	if opts.MaxAnswer < 0 {
		return nil, fmt.Errorf("%w: MaxAnswer is %d; use a positive size in bytes, or 0 for the default", ErrInvalidOptions, opts.MaxAnswer)
	}
	if opts.TTL == 0 {
		opts.TTL = extension.DefaultIdempotencyTTL
	}
	if opts.ClaimTTL == 0 {
		opts.ClaimTTL = DefaultIdempotencyClaimTTL
	}
	if opts.MaxAnswer == 0 {
		opts.MaxAnswer = extension.DefaultIdempotencyMaxEntry
	}
	return &RedisIdempotency{s: s, ttl: opts.TTL, claimTTL: opts.ClaimTTL, maxAnswer: opts.MaxAnswer}, nil
}

// Begin implements extension.IdempotencyStore: (nil, nil) when the caller
// now holds the claim, the recorded answer, or extension.ErrInProgress
// while another delivery holds it. Other errors match ErrUnavailable when
// Redis did not answer (a claim made by a call that timed out may hold the
// key for ClaimTTL); a record under the key that this store did not write
// is an error too.
func (r *RedisIdempotency) Begin(ctx context.Context, key string) (*extension.Answer, error) {
	v, err := r.s.begin(ctx, "idempotency begin", key, time.Now().Add(r.claimTTL), r.claimTTL)
	if err != nil {
		return nil, err
	}
	if v == "" {
		return nil, nil
	}
	if _, ok := claimUntil(v); ok {
		return nil, extension.ErrInProgress
	}
	if a, ok := decodeAnswer(v); ok {
		return a, nil
	}
	return nil, fmt.Errorf("tracking: redis idempotency begin %q: %s holds a record this store did not write; give the store a Prefix of its own", key, r.s.key(key))
}

// Finish implements extension.IdempotencyStore: it records a for TTL in
// place of whatever the key held. Errors match ErrUnavailable.
func (r *RedisIdempotency) Finish(ctx context.Context, key string, a extension.Answer) error {
	body := a.Body
	if len(body) > r.maxAnswer {
		body = nil
	}
	value := make([]byte, 0, 16+len(body))
	value = append(strconv.AppendInt(append(value, 'a'), int64(a.Status), 10), ':')
	value = append(value, body...)
	err := r.s.call(ctx, func(ctx context.Context) error {
		return r.s.client.Set(ctx, r.s.key(key), value, max(r.ttl, time.Millisecond)).Err()
	})
	if err != nil {
		return redisFailed("idempotency finish", key, err)
	}
	return nil
}

// Abandon implements extension.IdempotencyStore: it releases the key if
// this store's claim still holds it (not one another replica made after
// this one's expired). Errors match ErrUnavailable.
func (r *RedisIdempotency) Abandon(ctx context.Context, key string) error {
	return r.s.release(ctx, "idempotency abandon", key)
}

// decodeAnswer reads a<status>:<body>. An empty body is nil, as
// extension.MemoryIdempotency records it.
func decodeAnswer(v string) (*extension.Answer, bool) {
	rest, ok := strings.CutPrefix(v, "a")
	if !ok {
		return nil, false
	}
	status, body, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, false
	}
	n, err := strconv.Atoi(status)
	if err != nil {
		return nil, false
	}
	a := &extension.Answer{Status: n}
	if body != "" {
		a.Body = []byte(body)
	}
	return a, true
}
