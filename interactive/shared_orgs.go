package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/internal/ratelog"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
)

// How long Redis keeps what sharedOrgs writes when no replica takes it:
// an organization's JWT (LimaCharlie's expire well before), and its queued
// job updates (an organization that sends nothing for a week has likely
// uninstalled the service).
const (
	sharedJWTLifetime  = 24 * time.Hour
	sharedJobsLifetime = 7 * 24 * time.Hour
)

// sharedOrgs is the orgStore of replicas sharing Redis: a timeout handled
// by one replica uses the JWT another replica saw last, and its job
// updates ride the next response to the organization from any replica.
// They stay in Redis until a response takes them, so a replica that stops
// loses none. When Redis does not answer, JWTs come from this process's
// memory and job updates wait there for a response from this process.
type sharedOrgs struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	logger  func() *slog.Logger
	local   *orgState // JWTs written (and the fallback)

	mu      sync.Mutex
	written map[string]string    // the JWT last written to Redis, by org
	checked map[string]time.Time // when take last found an org's queue empty
	failLog ratelog.Gate
}

// takeEvery is how often a replica looks in Redis for an organization's
// queued job updates while it finds none: a busy organization's webhooks
// then cost no extra round trip, and queued updates ride a response within
// about this long (a replica that queues one looks again at once).
const takeEvery = time.Second

var _ orgStore = (*sharedOrgs)(nil)

func newSharedOrgs(client redis.UniversalClient, prefix string, timeout time.Duration, logger func() *slog.Logger) *sharedOrgs {
	return &sharedOrgs{client: client, prefix: prefix, timeout: timeout, logger: logger, local: newOrgState(),
		written: map[string]string{}, checked: map[string]time.Time{}}
}

func (o *sharedOrgs) jwtKey(oid string) string  { return o.prefix + "jwt:" + oid }
func (o *sharedOrgs) jobsKey(oid string) string { return o.prefix + "jobs:" + oid }
func (o *sharedOrgs) countKey() string          { return o.prefix + "jobs" }

// call bounds one Redis call by the store's timeout.
func (o *sharedOrgs) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.timeout)
	defer cancel()
	return f(ctx)
}

func (o *sharedOrgs) failed(what string, err error) {
	if ok, n := o.failLog.Allow(time.Now()); ok {
		o.logger().Warn("redis unavailable: "+what, "error", err.Error(), "suppressed", n)
	}
}

// remember writes org's JWT to Redis when it differs from the one this
// process wrote last, so a steady stream of webhooks costs no writes.
func (o *sharedOrgs) remember(ctx context.Context, org tasking.Org) {
	if org.ID == "" || org.JWT == "" {
		return
	}
	o.local.remember(ctx, org)
	o.mu.Lock()
	same := o.written[org.ID] == org.JWT
	o.mu.Unlock()
	if same {
		return
	}
	err := o.call(ctx, func(ctx context.Context) error {
		return o.client.Set(ctx, o.jwtKey(org.ID), org.JWT, sharedJWTLifetime).Err()
	})
	if err != nil {
		o.failed("the organization's JWT is kept in this process only", err)
		return
	}
	o.mu.Lock()
	o.written[org.ID] = org.JWT
	o.mu.Unlock()
}

func (o *sharedOrgs) latest(ctx context.Context, oid string) tasking.Org {
	var jwt string
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		jwt, err = o.client.Get(ctx, o.jwtKey(oid)).Result()
		return err
	})
	if err != nil || jwt == "" {
		if err != nil && !errors.Is(err, redis.Nil) {
			o.failed("using the JWT this process saw last", err)
		}
		return o.local.latest(ctx, oid)
	}
	return tasking.Org{ID: oid, JWT: jwt}
}

// queueScript appends a job update to an organization's queue and counts
// it. KEYS: queue, count; ARGV: job JSON, lifetime in ms.
var queueScript = redis.NewScript(`
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1`)

// takeScript removes and returns an organization's queued job updates.
// KEYS: queue, count.
var takeScript = redis.NewScript(`
local q = redis.call('LRANGE', KEYS[1], 0, -1)
if #q > 0 then
  redis.call('DEL', KEYS[1])
  if redis.call('DECRBY', KEYS[2], #q) < 0 then redis.call('SET', KEYS[2], 0) end
end
return q`)

func (o *sharedOrgs) queue(ctx context.Context, oid string, j *jobs.Job) {
	b, err := json.Marshal(j)
	if err == nil {
		err = o.call(ctx, func(ctx context.Context) error {
			return queueScript.Run(ctx, o.client, []string{o.jobsKey(oid), o.countKey()}, b, sharedJobsLifetime.Milliseconds()).Err()
		})
	}
	if err != nil {
		o.failed("a timeout's job update waits in this process", err)
		o.local.queue(ctx, oid, j)
	}
	o.mu.Lock()
	delete(o.checked, oid)
	o.mu.Unlock()
}

func (o *sharedOrgs) take(ctx context.Context, oid string) []*jobs.Job {
	out := o.local.take(ctx, oid)
	now := time.Now()
	o.mu.Lock()
	recent := now.Sub(o.checked[oid]) < takeEvery
	o.mu.Unlock()
	if recent {
		return out
	}
	var raw []string
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		raw, err = takeScript.Run(ctx, o.client, []string{o.jobsKey(oid), o.countKey()}).StringSlice()
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		o.failed("queued job updates stay in Redis for a later response", err)
		return out
	}
	if len(raw) == 0 {
		o.mu.Lock()
		o.checked[oid] = now
		o.mu.Unlock()
	}
	for _, b := range raw {
		j := new(jobs.Job)
		if err := json.Unmarshal([]byte(b), j); err != nil {
			o.logger().Error("dropping a queued job update that cannot be decoded", "oid", oid, "error", err.Error())
			continue
		}
		out = append(out, j)
	}
	return out
}

// queuedLen counts the job updates queued in Redis for every organization
// (and in this process's fallback).
func (o *sharedOrgs) queuedLen() int {
	var n int
	err := o.call(context.Background(), func(ctx context.Context) error {
		var err error
		n, err = o.client.Get(ctx, o.countKey()).Int()
		return err
	})
	if err != nil {
		n = 0
	}
	return max(n, 0) + o.local.queuedLen()
}

// forgetScript drops an organization's JWT and queue. KEYS: jwt, queue, count.
var forgetScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
if n > 0 and redis.call('DECRBY', KEYS[3], n) < 0 then redis.call('SET', KEYS[3], 0) end
return n`)

func (o *sharedOrgs) forget(ctx context.Context, oid string) {
	o.local.forget(ctx, oid)
	o.mu.Lock()
	delete(o.written, oid)
	delete(o.checked, oid)
	o.mu.Unlock()
	err := o.call(ctx, func(ctx context.Context) error {
		return forgetScript.Run(ctx, o.client, []string{o.jwtKey(oid), o.jobsKey(oid), o.countKey()}).Err()
	})
	if err != nil {
		o.failed("an uninstalled organization's JWT and job updates expire in Redis instead", err)
	}
}
