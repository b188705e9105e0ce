package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared through Redis by every process (replica) of a
// service that uses the same key prefix: a reply that reaches any replica
// resolves the entry another replica added, and each expired entry is timed
// out once, by one replica. Values cross process boundaries, so they are
// encoded with the store's Codec. See the package documentation for what is
// guaranteed and how.
//
// It is safe for concurrent use. Create one with [NewRedis] and stop it
// with [Redis.Close].
type Redis[V any] struct {
	opts       RedisOptions[V]
	expiries   string // the expiries set's key
	entryKeys  string // the prefix of the entries' keys
	addr       string // for error messages
	ctxHonored bool   // the client bounds its calls by the context's deadline

	mu        sync.Mutex
	closed    bool
	timerStop func() bool
	sweeps    sync.WaitGroup // sweeps in flight, OnTimeout calls included

	added, resolved, done, timedOut, pending atomic.Int64
}

// NewRedis returns a store on opts.Client after checking, within
// opts.CallTimeout, that Redis answers. It arms the store's sweep on its
// clock, every opts.SweepInterval.
func NewRedis[V any](ctx context.Context, opts RedisOptions[V]) (*Redis[V], error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Redis[V]{
		opts:       opts,
		expiries:   opts.Prefix + "expiries",
		entryKeys:  opts.Prefix + "pending:",
		addr:       clientAddr(opts.Client),
		ctxHonored: honorsContext(opts.Client),
	}
	if err := r.call(ctx, func(ctx context.Context) error { return opts.Client.Ping(ctx).Err() }); err != nil {
		return nil, unreachable(r.addr, unavailableError{err})
	}
	r.mu.Lock()
	r.timerStop = opts.Clock.AfterFunc(opts.SweepInterval, r.tick)
	r.mu.Unlock()
	return r, nil
}

// unreachable is the error of a constructor whose first call to Redis
// failed; err should match ErrUnavailable.
func unreachable(addr string, err error) error {
	return fmt.Errorf("tracking: Redis at %s is unreachable: %w: check LC_REDIS_URL and that the Redis server runs", addr, err)
}

// Add stores e for every replica until it is resolved, finished or
// expires. A zero Created becomes now and a zero Expires Created +
// RedisOptions.TTL; Expires is rounded up to the millisecond, Redis's
// resolution. Add fails with ErrEmptyID, with ErrDuplicateID if an entry
// with e.ID is pending in any replica, with ErrClosed after Close, with
// the Codec's error if e.Value cannot be encoded, and with an error
// matching ErrUnavailable if Redis does not answer.
func (r *Redis[V]) Add(ctx context.Context, e Entry[V]) error {
	if e.ID == "" {
		return ErrEmptyID
	}
	if r.isClosed() {
		return ErrClosed
	}
	now := r.opts.Clock.Now()
	if e.Created.IsZero() {
		e.Created = now
	}
	if e.Expires.IsZero() {
		e.Expires = e.Created.Add(r.opts.TTL)
	}
	value, err := r.opts.Codec.Marshal(e.Value)
	if err != nil {
		return fmt.Errorf("tracking: encoding the value of %q: %w", e.ID, err)
	}
	expires := ceilMilli(e.Expires)
	// A relative TTL, from this process's clock: Redis's own clock may not
	// agree with it (and a test's ManualClock certainly does not).
	keyTTL := max(expires-now.UnixMilli(), 0) + RedisKeyMargin.Milliseconds()
	streaming := "0"
	if e.Streaming {
		streaming = "1"
	}
	var added int64
	err = r.call(ctx, func(ctx context.Context) error {
		var err error
		added, err = addScript.Run(ctx, r.opts.Client, []string{r.entryKeys + e.ID, r.expiries},
			e.ID, value, e.Created.UnixNano(), expires, streaming, keyTTL).Int64()
		return err
	})
	if err != nil {
		return r.failed("add", e.ID, err)
	}
	if added == 0 {
		return fmt.Errorf("%w: %q", ErrDuplicateID, e.ID)
	}
	r.added.Add(1)
	return nil
}

// Resolve returns the pending entry id for a reply, with Replies counting
// this reply, whichever replica added it. A single-reply entry is removed,
// so of several replicas resolving it at once exactly one gets ok; a
// streaming entry stays until it expires or Done is called, and each
// Resolve counts its reply once. ok is false if no such entry is pending,
// including one past its expiry at this process's clock. err matches
// ErrUnavailable if Redis did not answer; a value the Codec cannot decode
// is an error too (the entry is removed all the same, unless streaming).
func (r *Redis[V]) Resolve(ctx context.Context, id string) (e Entry[V], ok bool, err error) {
	e, ok, err = r.take(ctx, "resolve", resolveScript, id)
	if ok && err == nil {
		r.resolved.Add(1)
	}
	return e, ok, err
}

// Done removes the pending entry id, whichever replica added it, so that no
// timeout fires for it. ok is false if no such entry is pending, including
// one past its expiry. Errors are as for Resolve.
func (r *Redis[V]) Done(ctx context.Context, id string) (e Entry[V], ok bool, err error) {
	e, ok, err = r.take(ctx, "done", doneScript, id)
	if ok && err == nil {
		r.done.Add(1)
	}
	return e, ok, err
}

// take runs the resolve or done script for id.
func (r *Redis[V]) take(ctx context.Context, op string, script *redis.Script, id string) (Entry[V], bool, error) {
	if id == "" || r.isClosed() {
		return Entry[V]{}, false, nil
	}
	now := r.opts.Clock.Now().UnixMilli()
	var reply []any
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		reply, err = script.Run(ctx, r.opts.Client, []string{r.entryKeys + id, r.expiries}, id, now).Slice()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return Entry[V]{}, false, nil
	}
	if err != nil {
		return Entry[V]{}, false, r.failed(op, id, err)
	}
	e, err := r.decode(id, reply)
	if err != nil {
		return Entry[V]{}, false, fmt.Errorf("tracking: redis %s %s: %w", op, id, err)
	}
	return e, true, nil
}

// decode turns a script's {value, created, expires, streaming, replies}
// into an entry.
func (r *Redis[V]) decode(id string, f []any) (Entry[V], error) {
	if len(f) != 5 {
		return Entry[V]{}, fmt.Errorf("malformed entry: %d fields, want 5", len(f))
	}
	value, ok := f[0].(string)
	if !ok {
		return Entry[V]{}, errors.New("malformed entry: no value")
	}
	created, err1 := strconv.ParseInt(str(f[1]), 10, 64)
	expires, err2 := strconv.ParseInt(str(f[2]), 10, 64)
	replies, err3 := strconv.Atoi(str(f[4]))
	if err := errors.Join(err1, err2, err3); err != nil {
		return Entry[V]{}, fmt.Errorf("malformed entry: %w", err)
	}
	v, err := r.opts.Codec.Unmarshal([]byte(value))
	if err != nil {
		return Entry[V]{}, fmt.Errorf("decoding the value: %w", err)
	}
	return Entry[V]{
		ID:        id,
		Value:     v,
		Created:   time.Unix(0, created),
		Expires:   time.UnixMilli(expires),
		Streaming: str(f[3]) == "1",
		Replies:   replies,
	}, nil
}

// str formats a script's reply field, a string or an integer, as a string.
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	default:
		return fmt.Sprint(v)
	}
}

// Sweep claims up to RedisOptions.MaxClaim entries expired at now, in one
// script, and hands each to OnTimeout, concurrently, returning when all
// calls have returned. An entry is claimed by one replica only, so it is
// timed out once across all of them. It returns how many entries it timed
// out; one whose value cannot be decoded is removed, logged and not
// counted. The store's clock calls it every SweepInterval; tests may call
// it directly. On a closed store it does nothing.
func (r *Redis[V]) Sweep(ctx context.Context, now time.Time) (int, error) {
	n, _, err := r.sweep(ctx, now)
	return n, err
}

// sweep is Sweep, also returning how many entries the script claimed.
func (r *Redis[V]) sweep(ctx context.Context, now time.Time) (timedOut, claimed int, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, 0, nil
	}
	r.sweeps.Add(1) // under the lock, so that Close waits for this sweep
	r.mu.Unlock()
	defer r.sweeps.Done()

	var reply []any
	err = r.call(ctx, func(ctx context.Context) error {
		var err error
		reply, err = claimScript.Run(ctx, r.opts.Client, []string{r.expiries},
			now.UnixMilli(), r.opts.MaxClaim, r.entryKeys).Slice()
		return err
	})
	if err != nil {
		return 0, 0, r.failed("sweep", "at "+now.Format(time.RFC3339Nano), err)
	}
	expired := make([]Entry[V], 0, len(reply))
	for _, item := range reply {
		f, _ := item.([]any)
		if len(f) != 6 {
			r.opts.Logger.Error("tracking: redis sweep: skipping a malformed reply item", slog.Any("item", item))
			continue
		}
		id := str(f[0])
		if f[1] == nil {
			r.opts.Logger.Warn("tracking: redis sweep: an expired entry was already deleted by Redis, so it cannot time out (no replica swept it within RedisKeyMargin)",
				slog.String("id", id))
			continue
		}
		e, err := r.decode(id, f[1:])
		if err != nil {
			r.opts.Logger.Error("tracking: redis sweep: dropping an expired entry that cannot be decoded",
				slog.String("id", id), slog.Any("error", err))
			continue
		}
		expired = append(expired, e)
	}
	r.timedOut.Add(int64(len(expired)))
	if r.opts.OnTimeout != nil {
		if len(expired) == 1 {
			r.opts.OnTimeout(expired[0])
		} else if len(expired) > 1 {
			var wg sync.WaitGroup
			for _, e := range expired {
				wg.Go(func() { r.opts.OnTimeout(e) })
			}
			wg.Wait()
		}
	}
	return len(expired), len(reply), nil
}

// tick is the sweep timer's callback: it sweeps, then re-arms the timer,
// at once if the sweep claimed all it could (more may be waiting).
func (r *Redis[V]) tick() {
	_, claimed, err := r.sweep(context.Background(), r.opts.Clock.Now())
	if err != nil {
		r.opts.Logger.Warn("tracking: redis sweep failed; retrying after the sweep interval",
			slog.Any("error", err), slog.Duration("interval", r.opts.SweepInterval))
	}
	next := r.opts.SweepInterval
	if err == nil && claimed >= r.opts.MaxClaim {
		next = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.timerStop = r.opts.Clock.AfterFunc(next, r.tick)
	}
}

// Stats returns this process's counters: Added, Resolved, Done and TimedOut
// count the calls made here (each replica has its own), while Pending is
// the number of entries pending in Redis for the whole service, expired
// ones not yet swept included. Pending is read from Redis within
// CallTimeout; if Redis does not answer it is the last value read.
// Evicted and Dropped are always 0: Redis does not evict for space, and
// Close leaves the entries to the other replicas.
func (r *Redis[V]) Stats() Stats {
	var n int64
	err := r.call(context.Background(), func(ctx context.Context) error {
		var err error
		n, err = r.opts.Client.ZCard(ctx, r.expiries).Result()
		return err
	})
	if err == nil {
		r.pending.Store(n)
	}
	return Stats{
		Pending:  r.pending.Load(),
		Added:    r.added.Load(),
		Resolved: r.resolved.Load(),
		Done:     r.done.Load(),
		TimedOut: r.timedOut.Load(),
	}
}

// Close stops the store's sweep and waits for sweeps in flight, OnTimeout
// calls included. Unlike a Table's, it drops nothing: the pending entries
// belong to the service, and the other replicas still resolve and time
// them out (when this was the last replica, Redis deletes them
// RedisKeyMargin after their expiry). Later Adds fail with ErrClosed;
// Resolve, Done and Sweep find nothing. It does not close the client.
// Close is idempotent and returns nil. It must not be called from
// OnTimeout.
func (r *Redis[V]) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		if r.timerStop != nil {
			r.timerStop()
			r.timerStop = nil
		}
	}
	r.mu.Unlock()
	r.sweeps.Wait()
	return nil
}

func (r *Redis[V]) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// call runs f with a context bounded by CallTimeout (see callRedis).
func (r *Redis[V]) call(ctx context.Context, f func(context.Context) error) error {
	return callRedis(ctx, r.opts.CallTimeout, r.ctxHonored, f)
}

// callRedis runs f with a context bounded by timeout. A client that does
// not bound its socket I/O by the context (go-redis's
// ContextTimeoutEnabled is off by default; honored is false) is bounded
// here instead: callRedis returns when the context ends, and f's late
// result is discarded.
func callRedis(ctx context.Context, timeout time.Duration, honored bool, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if honored {
		return f(ctx)
	}
	result := make(chan error, 1)
	go func() { result <- f(ctx) }()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// failed wraps a Redis error so that it names the operation and matches
// ErrUnavailable.
func (r *Redis[V]) failed(op, id string, err error) error {
	return fmt.Errorf("tracking: redis %s %s: %w", op, id, unavailableError{err})
}

// unavailableError is a Redis error that also matches ErrUnavailable.
type unavailableError struct{ err error }

func (e unavailableError) Error() string        { return e.err.Error() }
func (e unavailableError) Unwrap() error        { return e.err }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

// Transient reports true: Redis may answer the next call, so a webhook
// that failed on it is worth retrying (tasking.IsTransient reads it).
func (e unavailableError) Transient() bool { return true }

// ceilMilli returns t in Unix milliseconds, rounded up.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// honorsContext reports whether c bounds its socket I/O by the context's
// deadline.
func honorsContext(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// clientAddr names the server(s) c talks to, for error messages.
func clientAddr(c redis.UniversalClient) string {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return fmt.Sprint(c.Options().Addrs)
	case *redis.Ring:
		return fmt.Sprint(c.Options().Addrs)
	}
	return fmt.Sprintf("(a %T)", c)
}
