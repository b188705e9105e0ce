package tracking

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAddResolve measures one task's round trip through the table: a
// continuation is added and its reply resolves it, from many goroutines.
func BenchmarkAddResolve(b *testing.B) {
	table, err := New(Options[func()]{})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	benchmarkAddResolve(b, Store[func()](table), nil)
}

// BenchmarkAddResolveManualClock is the same round trip on a clock that
// stands still, without the system clock's cost.
func BenchmarkAddResolveManualClock(b *testing.B) {
	table, err := New(Options[func()]{Clock: NewManualClock(time.Now())})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	benchmarkAddResolve(b, Store[func()](table), nil)
}

// BenchmarkRedisAddResolve is BenchmarkAddResolve through the Redis store,
// on miniredis and on the real server LCSERVICE_TEST_REDIS_URL names (that
// one skipped when it is unset). Its value is a handler's name: a closure
// cannot go to Redis. Beside BenchmarkAddResolve it gives the cost of
// sharing the pending tasks.
func BenchmarkRedisAddResolve(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *redisBackend
	}{{"miniredis", newMiniBackend}, {"redis-server", realBackend}} {
		b.Run(backend.name, func(b *testing.B) {
			be := backend.open(b)
			store, err := NewRedis(context.Background(), RedisOptions[string]{
				Client: be.client(b, true),
				Prefix: be.prefix(b),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			benchmarkAddResolve(b, Store[string](store), "packages")
		})
	}
}

// benchmarkAddResolve adds an entry holding value and resolves it, from as
// many goroutines as RunParallel starts.
func benchmarkAddResolve[V any](b *testing.B, table Store[V], value V) {
	ctx := context.Background()
	var workers atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		prefix := strconv.FormatInt(workers.Add(1), 10) + "-"
		for i := 0; pb.Next(); i++ {
			id := prefix + strconv.Itoa(i)
			if err := table.Add(ctx, Entry[V]{ID: id, Value: value}); err != nil {
				b.Error(err)
				return
			}
			if _, ok, err := table.Resolve(ctx, id); !ok || err != nil {
				b.Errorf("Resolve(%s) = %v, %v; want true, nil", id, ok, err)
				return
			}
		}
	})
}

// BenchmarkTimeout measures entries timing out: each iteration adds one,
// and every thousandth moves the clock past them all, so the table's timer
// sweeps a thousand at a time.
func BenchmarkTimeout(b *testing.B) {
	ctx := context.Background()
	clock := NewManualClock(time.Now())
	var timedOut atomic.Int64
	table, err := New(Options[int]{
		TTL:       time.Second,
		Clock:     clock,
		OnTimeout: func(Entry[int]) { timedOut.Add(1) },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := table.Add(ctx, Entry[int]{ID: strconv.Itoa(i), Value: i}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			clock.Advance(time.Second)
		}
	}
	clock.Advance(time.Second)
	if s := table.Stats(); s.TimedOut != s.Added || timedOut.Load() != s.Added {
		b.Fatalf("Stats = %+v and %d OnTimeout calls; want every entry added to time out", s, timedOut.Load())
	}
}
