package tracking

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults applied by [NewRedis] to zero-valued [RedisOptions] fields.
const (
	DefaultCallTimeout   = 2 * time.Second
	DefaultSweepInterval = time.Second
	DefaultMaxClaim      = 100
)

// RedisKeyMargin is how long a [Redis] store's keys outlive their entry's
// expiry in Redis itself, so that an entry no replica sweeps (every replica
// is gone) is deleted by Redis instead of living forever. Replicas that
// are up sweep an entry long before.
const RedisKeyMargin = time.Hour

// RedisOptions configure a [Redis] store. Client and Prefix are required.
type RedisOptions[V any] struct {
	// Client is the connection to Redis: a *redis.Client (see
	// [RedisFromURL]), a failover client or a cluster client. The store
	// never closes it.
	Client redis.UniversalClient
	// Prefix starts every key the store writes, so that several services
	// can share one Redis: use one per service, e.g. "lcservice:packages:".
	// Every replica of a service uses the same Prefix; that is what makes
	// them share their pending entries. On Redis Cluster (or a Ring) it
	// must hold a hash tag, e.g. "lcservice:{packages}:", so that a store's
	// keys share a slot (or a shard).
	Prefix string
	// Codec encodes values for Redis; nil means JSONCodec[V]().
	Codec Codec[V]
	// TTL is the lifetime of an entry added without Expires. Zero means
	// DefaultTTL.
	TTL time.Duration
	// OnTimeout, if set, is called for each entry that expires while still
	// pending, in the one process whose sweep claimed it, with its final
	// Replies count. As with a Table, the entries of one sweep are handed
	// over concurrently and the sweep ends when every call has returned. It
	// never runs inside Add, Resolve or Done. It must not call Close.
	OnTimeout func(Entry[V])
	// Clock is the time source; nil means SystemClock(). Expiry is decided
	// by the clock of the process asking, so the replicas' clocks should
	// agree to well within a TTL.
	Clock Clock
	// CallTimeout bounds every call to Redis, whether or not the caller's
	// context has a deadline. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// SweepInterval is how often this process looks for expired entries to
	// claim. Zero means DefaultSweepInterval. A sweep that claimed MaxClaim
	// entries is followed at once by another.
	SweepInterval time.Duration
	// MaxClaim is the most expired entries one sweep claims. Zero means
	// DefaultMaxClaim.
	MaxClaim int
	// Logger receives what a sweep cannot report to a caller: a failed
	// sweep, an expired entry whose value cannot be decoded. nil means
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults checks o and fills in its zero fields.
func (o RedisOptions[V]) withDefaults() (RedisOptions[V], error) {
	if o.Client == nil {
		return o, fmt.Errorf("%w: Client is nil; pass a Redis client, e.g. from tracking.RedisFromURL", ErrInvalidOptions)
	}
	if o.Prefix == "" {
		return o, fmt.Errorf("%w: Prefix is empty; give each service its own key prefix, e.g. \"lcservice:<service>:\"", ErrInvalidOptions)
	}
	switch o.Client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		if !hasHashTag(o.Prefix) {
			return o, fmt.Errorf("%w: Prefix %q has no hash tag; on Redis Cluster (or a Ring) a store's keys must share a slot, e.g. \"lcservice:{packages}:\"", ErrInvalidOptions, o.Prefix)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TTL", o.TTL}, {"CallTimeout", o.CallTimeout}, {"SweepInterval", o.SweepInterval}} {
		if d.v < 0 {
			return o, fmt.Errorf("%w: %s is %v; use a positive duration, or 0 for the default", ErrInvalidOptions, d.name, d.v)
		}
	}
	if o.MaxClaim < 0 {
		return o, fmt.Errorf("%w: MaxClaim is %d; use a positive number, or 0 for the default %d", ErrInvalidOptions, o.MaxClaim, DefaultMaxClaim)
	}
	if o.Codec == nil {
		o.Codec = JSONCodec[V]()
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.MaxClaim == 0 {
		o.MaxClaim = DefaultMaxClaim
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// hasHashTag reports whether key holds a Redis Cluster hash tag: a "{"
// followed later by a "}" with something between them.
func hasHashTag(key string) bool {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return false
	}
	end := strings.IndexByte(key[open+1:], '}')
	return end > 0
}
