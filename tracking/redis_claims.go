package tracking

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The de-duplication stores (RedisDeliveries, RedisIdempotency) keep one
// string per message, at <prefix><namespace><hex SHA-256 of the key>:
//
//	c<owner>:<until>  claimed by the store instance <owner> until <until>
//	                  (Unix milliseconds); the key's TTL ends the claim then
//	a<answer>         answered; the key's TTL is the window the answer is
//	                  kept for
//
// Each call touches one key, so the stores need no hash tag on Redis
// Cluster.

// beginScript claims a key unless it is claimed or answered.
//
// KEYS: the message's key. ARGV: the claim's value, its TTL in
// milliseconds. Returns "" if the caller now holds the claim, else the
// key's value.
var beginScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  return v
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
`)

// releaseScript deletes a key that holds a claim of the caller's, so that
// a store never ends another instance's claim (one made after the
// caller's own expired).
//
// KEYS: the message's key. ARGV: the start of the caller's claims,
// c<owner>:. Returns 1 if the claim was released, else 0.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// claimStore is what RedisDeliveries and RedisIdempotency share: a client,
// its call bound, and where their keys live.
type claimStore struct {
	client      redis.UniversalClient
	callTimeout time.Duration
	ctxHonored  bool
	keys        string // the prefix of the keys: <prefix><namespace>
	owner       string // "c<random>:", the start of this instance's claims
}

// newClaimStore checks the options the two stores share.
func newClaimStore(client redis.UniversalClient, prefix, namespace string, callTimeout time.Duration) (claimStore, error) {
	if client == nil {
		return claimStore{}, fmt.Errorf("%w: the Redis client is nil; pass one, e.g. from tracking.RedisFromURL", ErrInvalidOptions)
	}
	if prefix == "" {
		return claimStore{}, fmt.Errorf("%w: Prefix is empty; give each service its own key prefix, e.g. \"lcservice:<service>:\"", ErrInvalidOptions)
	}
	if callTimeout < 0 {
		return claimStore{}, fmt.Errorf("%w: CallTimeout is %v; use a positive duration, or 0 for the default", ErrInvalidOptions, callTimeout)
	}
	if callTimeout == 0 {
		callTimeout = DefaultCallTimeout
	}
	return claimStore{
		client:      client,
		callTimeout: callTimeout,
		ctxHonored:  honorsContext(client),
		keys:        prefix + namespace,
		owner:       "c" + rand.Text() + ":",
	}, nil
}

// key is where the record of a message's key lives: hashed, so that what
// the platform sends never forms a key name and every name has one length.
func (s *claimStore) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.keys + hex.EncodeToString(sum[:])
}

// claim is the value of a claim of this instance's until the given time.
func (s *claimStore) claim(until time.Time) string {
	return s.owner + strconv.FormatInt(ceilMilli(until), 10)
}

// begin runs beginScript for k with a claim lasting ttl (at least a
// millisecond, Redis's resolution). It returns "" if the claim is the
// caller's, else the value found.
func (s *claimStore) begin(ctx context.Context, op, k string, until time.Time, ttl time.Duration) (string, error) {
	ms := max(ceilDuration(ttl), 1)
	var v string
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		v, err = beginScript.Run(ctx, s.client, []string{s.key(k)}, s.claim(until), ms).Text()
		return err
	})
	if err != nil {
		return "", redisFailed(op, k, err)
	}
	return v, nil
}

// release deletes k's record if it is a claim of this instance's.
func (s *claimStore) release(ctx context.Context, op, k string) error {
	err := s.call(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, s.client, []string{s.key(k)}, s.owner).Err()
	})
	if err != nil {
		return redisFailed(op, k, err)
	}
	return nil
}

// call runs f bounded by the store's CallTimeout.
func (s *claimStore) call(ctx context.Context, f func(context.Context) error) error {
	return callRedis(ctx, s.callTimeout, s.ctxHonored, f)
}

// claimUntil reads the end of the claim in a record; ok is false if v is
// not a claim.
func claimUntil(v string) (until time.Time, ok bool) {
	if !strings.HasPrefix(v, "c") {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(v[i+1:], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// redisFailed wraps a Redis error so that it names the operation and the
// message's key, and matches ErrUnavailable.
func redisFailed(op, key string, err error) error {
	return fmt.Errorf("tracking: redis %s %q: %w", op, key, unavailableError{err})
}

// ceilDuration returns d in milliseconds, rounded up.
func ceilDuration(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d > time.Duration(ms)*time.Millisecond {
		ms++
	}
	return ms
}
