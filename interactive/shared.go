package interactive

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// redisPrefix starts every key a service named name writes to Redis. The
// braces make it a hash tag: on Redis Cluster all of them share a slot, as
// the stores' scripts need.
func redisPrefix(name string) string { return "lcservice:{" + name + "}:" }

// connectRedis connects to the Redis at url, failing if it does not answer.
func connectRedis(url string) (*redis.Client, error) {
	c, err := tracking.RedisFromURL(context.Background(), url)
	if err != nil {
		return nil, fmt.Errorf("interactive: %w", err)
	}
	return c, nil
}

func closeRedis(c *redis.Client) {
	if c != nil {
		_ = c.Close()
	}
}

// sharedDeliveries is the service option that de-duplicates redelivered
// messages across the replicas sharing client.
func sharedDeliveries(client *redis.Client, name string) (service.Option, error) {
	d, err := tracking.NewRedisDeliveries(client, tracking.RedisDeliveriesOptions{Prefix: redisPrefix(name)})
	if err != nil {
		return nil, fmt.Errorf("interactive: %w", err)
	}
	return service.WithDeliveryStore(d), nil
}

// share puts the service's pending tasks and organization state in Redis
// and joins the relay. The service owns client from here: it is closed at
// Shutdown, after the stores that use it.
func (s *Service) share(client *redis.Client, capacity int) error {
	prefix := redisPrefix(s.Name())
	s.replica = uuid.NewString()
	local, err := tracking.New(tracking.Options[*continuation]{
		Capacity: capacity,
		TTL:      s.defaultTTL + closureGrace,
		OnEvict:  func(tracking.Entry[*continuation]) { s.counters.evicted.Add(1) },
		Clock:    s.clock,
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	store, err := tracking.NewRedis(ctx, tracking.RedisOptions[record]{
		Client:    client,
		Prefix:    prefix + "task:",
		TTL:       s.defaultTTL,
		OnTimeout: s.sharedTimedOut,
		Clock:     s.clock,
		Logger:    s.Logger(),
	})
	if err != nil {
		_ = local.Close()
		return fmt.Errorf("interactive: %w", err)
	}
	s.shared = &sharedPending{replica: s.replica, shared: store, local: local}
	s.pending = s.shared
	s.orgs = newSharedOrgs(client, prefix+"org:", tracking.DefaultCallTimeout, s.Logger)
	s.relay, err = startRelay(ctx, s, client, prefix, s.replica, tracking.DefaultCallTimeout)
	if err != nil {
		_ = s.shared.Close()
		return err
	}
	if x := extension.Of(s.Service); x != nil {
		idem, err := tracking.NewRedisIdempotency(client, tracking.RedisIdempotencyOptions{Prefix: prefix})
		if err != nil {
			_ = errors.Join(s.relay.close(), s.shared.Close())
			return fmt.Errorf("interactive: %w", err)
		}
		x.UseIdempotencyStore(idem)
	}
	s.OnShutdown(func(context.Context) {
		_ = errors.Join(s.relay.close(), s.shared.Close(), client.Close())
	})
	return nil
}

// sharedClosures returns the closures this process holds for task id,
// dropping them when the task has ended.
func (s *Service) sharedClosures(ctx context.Context, id string, ended bool) (*continuation, bool) {
	if s.shared == nil {
		return nil, false
	}
	return s.shared.closures(ctx, id, ended)
}

// sharedTimedOut is the shared store's timeout callback, in the replica
// whose sweep claimed the task: a timeout closure held by another replica
// runs there; otherwise the timeout runs here, with the closures if this
// replica holds them.
func (s *Service) sharedTimedOut(e tracking.Entry[record]) {
	rec := e.Value
	if rec.HasOnTimeout && rec.Owner != s.replica && s.relay.timeout(e) {
		return
	}
	s.runSharedTimeout(e)
}

// runSharedTimeout runs e's timeout here, with its closures if this
// replica holds them, or gives the task back if this replica is stopping.
func (s *Service) runSharedTimeout(e tracking.Entry[record]) {
	rec := e.Value
	c := rec.continuation()
	if rec.Owner == s.replica {
		if l, ok := s.shared.closures(context.Background(), e.ID, true); ok {
			c.then, c.onTimeout = l.then, l.onTimeout
		}
	}
	if !s.handleTimeout(tracking.Entry[*continuation]{ID: e.ID, Value: c, Created: e.Created, Expires: e.Expires, Replies: e.Replies}) {
		s.giveBack(e)
	}
}

// giveBack returns to Redis a task whose timeout this replica claimed but
// cannot run because it is stopping, so another replica's sweep runs it.
func (s *Service) giveBack(e tracking.Entry[record]) {
	if e.Value.Owner == s.replica {
		// Its closures stop with this process.
		e.Value.Owner, e.Value.HasThen, e.Value.HasOnTimeout = "", false, false
	}
	err := s.shared.shared.Add(context.Background(), tracking.Entry[record]{ID: e.ID, Value: e.Value, Created: e.Created, Expires: e.Expires, Streaming: e.Streaming})
	if err != nil {
		s.Logger().Error("a task's timeout is lost: this replica is stopping and could not hand it back to Redis", "task_id", e.ID, "error", err.Error())
	}
}
