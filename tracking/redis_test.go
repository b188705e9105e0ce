package tracking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis store's behaviour is one suite, run against miniredis always
// and against a real redis-server when LCSERVICE_TEST_REDIS_URL names one.
// Each case gets its own key prefix and deletes its keys when it ends.
var redisSuite = []struct {
	name string
	run  func(t *testing.T, b *redisBackend)
}{
	{"AddResolve", testRedisAddResolve},
	{"DuplicateAndEmptyID", testRedisDuplicateAndEmptyID},
	{"ExpiredAtCallersClock", testRedisExpiredAtCallersClock},
	{"Streaming", testRedisStreaming},
	{"Done", testRedisDone},
	{"TimeoutOnClock", testRedisTimeoutOnClock},
	{"SweepDrainsBacklog", testRedisSweepDrainsBacklog},
	{"ConcurrentResolveExactlyOnce", testRedisConcurrentResolveExactlyOnce},
	{"ConcurrentSweepsExactlyOnce", testRedisConcurrentSweepsExactlyOnce},
	{"StreamingAcrossReplicas", testRedisStreamingAcrossReplicas},
	{"ResolveRacesSweep", testRedisResolveRacesSweep},
	{"PrefixesAreSeparate", testRedisPrefixesAreSeparate},
	{"KeyTTL", testRedisKeyTTL},
	{"MalformedValue", testRedisMalformedValue},
	{"CodecErrorOnAdd", testRedisCodecErrorOnAdd},
	{"Close", testRedisClose},
	{"Stats", testRedisStats},
	{"Unavailable", testRedisUnavailable},
	{"SlowCallBounded", testRedisSlowCallBounded},
}

func TestRedisMiniredis(t *testing.T) {
	for _, tc := range redisSuite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newMiniBackend(t)) })
	}
}

func TestRedisServer(t *testing.T) {
	realBackend(t) // skips when no server is named
	for _, tc := range redisSuite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, realBackend(t)) })
	}
}

func testRedisAddResolve(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	a, other := rs.stores[0], rs.stores[1]
	mustAddTo(t, a, Entry[string]{ID: "t1", Value: "packages", Replies: 7})

	e, ok := resolveIn(t, other, "t1") // the reply reached the other replica
	if !ok {
		t.Fatal("Resolve(t1) in the other replica found nothing")
	}
	want := Entry[string]{ID: "t1", Value: "packages", Created: testStart, Expires: testStart.Add(time.Minute), Replies: 1}
	if e.ID != want.ID || e.Value != want.Value || !e.Created.Equal(want.Created) || !e.Expires.Equal(want.Expires) || e.Streaming || e.Replies != 1 {
		t.Errorf("Resolve(t1) = %+v, want %+v", e, want)
	}
	for _, s := range rs.stores {
		if _, ok := resolveIn(t, s, "t1"); ok {
			t.Error("a second Resolve(t1) found the single-reply entry again")
		}
	}
	if _, ok := resolveIn(t, a, "never-added"); ok {
		t.Error("Resolve of an ID never added succeeded")
	}
	if keys := b.keys(t, a.opts.Client, rs.prefix); len(keys) != 0 {
		t.Errorf("keys left after the entry was resolved: %v", keys)
	}

	// Created and Expires given by the caller are kept; Expires is rounded
	// up to Redis's millisecond.
	created := testStart.Add(-time.Second)
	expires := testStart.Add(time.Hour + 1500*time.Microsecond)
	mustAddTo(t, a, Entry[string]{ID: "t2", Value: "x", Created: created, Expires: expires})
	e, ok = resolveIn(t, a, "t2")
	if !ok || !e.Created.Equal(created) || !e.Expires.Equal(testStart.Add(time.Hour+2*time.Millisecond)) {
		t.Errorf("Resolve(t2) = %+v, %v; want Created %v and Expires %v", e, ok, created, testStart.Add(time.Hour+2*time.Millisecond))
	}
}

func testRedisDuplicateAndEmptyID(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	a, other := rs.stores[0], rs.stores[1]
	if err := a.Add(ctx, Entry[string]{}); !errors.Is(err, ErrEmptyID) {
		t.Errorf("Add with no ID = %v, want ErrEmptyID", err)
	}
	mustAddTo(t, a, Entry[string]{ID: "dup", Value: "first"})
	for i, s := range rs.stores {
		err := s.Add(ctx, Entry[string]{ID: "dup", Value: "second"})
		if !errors.Is(err, ErrDuplicateID) || errors.Is(err, ErrUnavailable) {
			t.Errorf("replica %d: Add of a pending ID = %v, want ErrDuplicateID only", i, err)
		}
	}
	if e, ok := resolveIn(t, other, "dup"); !ok || e.Value != "first" {
		t.Errorf("Resolve(dup) = %+v, %v; want the first entry", e, ok)
	}
	mustAddTo(t, other, Entry[string]{ID: "dup", Value: "again"}) // no longer pending
	// An expired entry not yet swept is still pending: its timeout is due.
	rs.clock.Advance(time.Minute - time.Millisecond)
	mustAddTo(t, a, Entry[string]{ID: "late", Expires: rs.clock.Now()})
	if err := a.Add(ctx, Entry[string]{ID: "late"}); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("Add of an expired, unswept ID = %v, want ErrDuplicateID", err)
	}
	if s := a.Stats(); s.Added != 2 {
		t.Errorf("Stats().Added = %d in the first replica, want 2", s.Added)
	}
}

func testRedisExpiredAtCallersClock(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{SweepInterval: time.Hour})
	s := rs.stores[0]
	mustAddTo(t, s, Entry[string]{ID: "single"})
	mustAddTo(t, s, Entry[string]{ID: "stream", Streaming: true})
	resolveIn(t, s, "stream")
	rs.clock.Advance(time.Minute - time.Millisecond)
	if _, ok := resolveIn(t, s, "stream"); !ok {
		t.Fatal("Resolve(stream) a millisecond before its expiry found nothing")
	}
	rs.clock.Advance(time.Millisecond) // exactly at Expires: expired, not swept (the sweep is an hour away)
	for _, id := range []string{"single", "stream"} {
		if _, ok := resolveIn(t, s, id); ok {
			t.Errorf("Resolve(%s) at its expiry succeeded", id)
		}
		if _, ok := doneIn(t, s, id); ok {
			t.Errorf("Done(%s) at its expiry succeeded", id)
		}
	}
	n, err := s.Sweep(ctx, rs.clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2, nil", n, err)
	}
	got := rs.recs[0].timedOut
	slices.SortFunc(got, func(a, b Entry[string]) int { return strings.Compare(a.ID, b.ID) })
	if len(got) != 2 || got[0].ID != "single" || got[0].Replies != 0 || got[1].ID != "stream" || got[1].Replies != 2 || !got[1].Streaming {
		t.Errorf("timed out %+v; want single with 0 replies and stream with 2", got)
	}
}

func testRedisStreaming(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{})
	s := rs.stores[0]
	mustAddTo(t, s, Entry[string]{ID: "s", Value: "v", Streaming: true})
	for want := 1; want <= 3; want++ {
		e, ok := resolveIn(t, s, "s")
		if !ok || e.Replies != want || !e.Streaming || e.Value != "v" {
			t.Fatalf("reply %d: Resolve = %+v, %v; want Replies %d", want, e, ok, want)
		}
	}
	e, ok := doneIn(t, s, "s")
	if !ok || e.Replies != 3 {
		t.Errorf("Done = %+v, %v; want the entry with 3 replies", e, ok)
	}
	if _, ok := resolveIn(t, s, "s"); ok {
		t.Error("Resolve after Done succeeded")
	}
	if st := s.Stats(); st.Resolved != 3 || st.Done != 1 || st.Pending != 0 {
		t.Errorf("Stats = %+v; want Resolved 3, Done 1, Pending 0", st)
	}
}

func testRedisDone(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	mustAddTo(t, rs.stores[0], Entry[string]{ID: "d", Value: "v"})
	if e, ok := doneIn(t, rs.stores[1], "d"); !ok || e.Value != "v" || e.Replies != 0 {
		t.Errorf("Done(d) in the other replica = %+v, %v", e, ok)
	}
	if _, ok := doneIn(t, rs.stores[0], "d"); ok {
		t.Error("a second Done(d) succeeded")
	}
	if _, ok := doneIn(t, rs.stores[0], "missing"); ok {
		t.Error("Done of an ID never added succeeded")
	}
	rs.clock.Advance(time.Hour)
	if ids := rs.timedOutIDs(); len(ids) != 0 {
		t.Errorf("timed out %v after Done; want nothing", ids)
	}
}

func testRedisTimeoutOnClock(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	mustAddTo(t, rs.stores[0], Entry[string]{ID: "a"})
	mustAddTo(t, rs.stores[1], Entry[string]{ID: "b", Expires: testStart.Add(30 * time.Second)})
	mustAddTo(t, rs.stores[1], Entry[string]{ID: "c", Streaming: true})
	resolveIn(t, rs.stores[0], "c")

	rs.clock.Advance(29 * time.Second)
	if ids := rs.timedOutIDs(); len(ids) != 0 {
		t.Fatalf("timed out %v at 29s; want nothing", ids)
	}
	rs.clock.Advance(time.Second) // Advance returns after the sweeps' OnTimeout calls
	if ids := rs.timedOutIDs(); !slices.Equal(ids, []string{"b"}) {
		t.Fatalf("timed out %v at 30s; want [b]", ids)
	}
	rs.clock.Advance(30 * time.Second)
	if ids := rs.timedOutIDs(); !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("timed out %v at 1m; want [a b c]", ids)
	}
	var total int64
	for _, s := range rs.stores {
		total += s.Stats().TimedOut
	}
	if total != 3 {
		t.Errorf("TimedOut adds up to %d over the replicas, want 3", total)
	}
	for _, rec := range rs.recs {
		for _, e := range rec.timedOut {
			if e.ID == "c" && e.Replies != 1 {
				t.Errorf("c timed out with %d replies, want 1", e.Replies)
			}
		}
	}
}

func testRedisSweepDrainsBacklog(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{MaxClaim: 10})
	for i := range 35 {
		mustAddTo(t, rs.stores[0], Entry[string]{ID: strconv.Itoa(i)})
	}
	// One step of the clock: a sweep that claims MaxClaim is followed at
	// once by another, so all 35 time out now, in four sweeps.
	rs.clock.Advance(time.Minute)
	if n := len(rs.timedOutIDs()); n != 35 {
		t.Errorf("%d timed out after one Advance past the expiry, want 35", n)
	}
	if n := pendingTimers(rs.clock); n != 1 {
		t.Errorf("%d timers scheduled after the backlog drained, want 1 (the next sweep)", n)
	}
}

func testRedisConcurrentResolveExactlyOnce(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	const rounds = 200
	var wins [2]int
	for round := range rounds {
		id := "r" + strconv.Itoa(round)
		mustAddTo(t, rs.stores[round%2], Entry[string]{ID: id})
		var got [2]bool
		var wg sync.WaitGroup
		for i, s := range rs.stores {
			wg.Go(func() { _, got[i] = resolveIn(t, s, id) })
		}
		wg.Wait()
		if got[0] == got[1] {
			t.Fatalf("round %d: replica 0 got %v and replica 1 got %v; want exactly one", round, got[0], got[1])
		}
		if got[0] {
			wins[0]++
		} else {
			wins[1]++
		}
	}
	t.Logf("replica 0 won %d rounds, replica 1 won %d", wins[0], wins[1])
	if p := rs.stores[0].Stats().Pending; p != 0 {
		t.Errorf("Pending = %d after every round, want 0", p)
	}
}

func testRedisConcurrentSweepsExactlyOnce(t *testing.T, b *redisBackend) {
	const entries = 1000
	counts := make([]atomic.Int32, entries)
	rs := newReplicas(t, b, 2, RedisOptions[string]{
		MaxClaim:      37, // many small claims, so the replicas contend
		SweepInterval: time.Hour,
		OnTimeout: func(e Entry[string]) {
			i, _ := strconv.Atoi(e.ID)
			counts[i].Add(1)
		},
	})
	for i := range entries {
		mustAddTo(t, rs.stores[i%2], Entry[string]{ID: strconv.Itoa(i), Expires: testStart.Add(time.Duration(i%10) * time.Second)})
	}
	now := rs.clock.Advance(10 * time.Second) // all expired; the timers stay an hour away
	var wg sync.WaitGroup
	var swept [2]int
	for i, s := range rs.stores {
		wg.Go(func() {
			for {
				n, err := s.Sweep(ctx, now)
				if err != nil {
					t.Errorf("replica %d: Sweep: %v", i, err)
					return
				}
				if n == 0 {
					return
				}
				swept[i] += n
			}
		})
	}
	wg.Wait()
	for i := range counts {
		if n := counts[i].Load(); n != 1 {
			t.Errorf("entry %d timed out %d times, want exactly once", i, n)
		}
	}
	t.Logf("replica 0 timed out %d, replica 1 %d", swept[0], swept[1])
	if swept[0]+swept[1] != entries {
		t.Errorf("sweeps returned %d in total, want %d", swept[0]+swept[1], entries)
	}
	for i, s := range rs.stores {
		if st := s.Stats(); st.TimedOut != int64(swept[i]) || st.Pending != 0 {
			t.Errorf("replica %d: Stats = %+v; want TimedOut %d, Pending 0", i, st, swept[i])
		}
	}
}

func testRedisStreamingAcrossReplicas(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	mustAddTo(t, rs.stores[0], Entry[string]{ID: "s", Streaming: true})
	const perReplica = 50
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for _, s := range rs.stores {
		for range 2 {
			wg.Go(func() {
				for range perReplica / 2 {
					e, ok := resolveIn(t, s, "s")
					if !ok {
						t.Error("Resolve of the streaming entry found nothing")
						return
					}
					mu.Lock()
					seen = append(seen, e.Replies)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.Sort(seen)
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("the replies were numbered %v; want each of 1..%d once", seen, 2*perReplica)
		}
	}
	rs.clock.Advance(time.Minute)
	var timedOut []Entry[string]
	for _, rec := range rs.recs {
		timedOut = append(timedOut, rec.timedOut...)
	}
	if len(timedOut) != 1 || timedOut[0].Replies != 2*perReplica {
		t.Errorf("timed out %+v; want the entry once, with %d replies", timedOut, 2*perReplica)
	}
}

// A reply racing its own entry's timeout, in another replica: exactly one
// of them gets it.
func testRedisResolveRacesSweep(t *testing.T, b *redisBackend) {
	const rounds = 200
	timeouts := make([]atomic.Int32, rounds)
	rs := newReplicas(t, b, 2, RedisOptions[string]{
		SweepInterval: time.Hour,
		OnTimeout: func(e Entry[string]) {
			i, _ := strconv.Atoi(e.ID)
			timeouts[i].Add(1)
		},
	})
	// The replier's clock (testStart) is before the expiry, the sweeper's
	// (expires) at it, so that both may have the entry.
	expires := testStart.Add(time.Second)
	var wins [2]int // by the number of successful Resolves: 0 (timed out) or 1
	for round := range rounds {
		id := strconv.Itoa(round)
		mustAddTo(t, rs.stores[0], Entry[string]{ID: id, Expires: expires})
		var resolved atomic.Int32
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, ok := resolveIn(t, rs.stores[0], id); ok {
				resolved.Add(1)
			}
		})
		wg.Go(func() {
			if _, err := rs.stores[1].Sweep(ctx, expires); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		r, to := resolved.Load(), timeouts[round].Load()
		if r+to != 1 {
			t.Fatalf("round %d: resolved %d times and timed out %d times; want exactly one in total", round, r, to)
		}
		wins[r]++
	}
	t.Logf("the sweep won %d rounds, the reply %d", wins[0], wins[1])
}

func testRedisPrefixesAreSeparate(t *testing.T, b *redisBackend) {
	one := newReplicas(t, b, 1, RedisOptions[string]{})
	two := newReplicas(t, b, 1, RedisOptions[string]{Clock: one.clock})
	mustAddTo(t, one.stores[0], Entry[string]{ID: "x", Value: "one"})
	mustAddTo(t, two.stores[0], Entry[string]{ID: "x", Value: "two"}) // no duplicate across prefixes
	mustAddTo(t, one.stores[0], Entry[string]{ID: "only-one"})
	if _, ok := resolveIn(t, two.stores[0], "only-one"); ok {
		t.Error("a store resolved an entry added under another prefix")
	}
	if _, ok := doneIn(t, two.stores[0], "only-one"); ok {
		t.Error("a store finished an entry added under another prefix")
	}
	if p1, p2 := one.stores[0].Stats().Pending, two.stores[0].Stats().Pending; p1 != 2 || p2 != 1 {
		t.Errorf("Pending = %d and %d, want 2 and 1", p1, p2)
	}
	if e, ok := resolveIn(t, two.stores[0], "x"); !ok || e.Value != "two" {
		t.Errorf("Resolve(x) under the second prefix = %+v, %v; want its own entry", e, ok)
	}
	n, err := two.stores[0].Sweep(ctx, testStart.Add(time.Hour))
	if err != nil || n != 0 {
		t.Errorf("Sweep under the second prefix = %d, %v; want 0, nil", n, err)
	}
	if ids := one.timedOutIDs(); len(ids) != 0 {
		t.Errorf("the first prefix's entries %v timed out in the second's sweep", ids)
	}
	if e, ok := resolveIn(t, one.stores[0], "x"); !ok || e.Value != "one" {
		t.Errorf("Resolve(x) under the first prefix = %+v, %v; want its own entry", e, ok)
	}
}

func testRedisKeyTTL(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{})
	s := rs.stores[0]
	c := s.opts.Client
	mustAddTo(t, s, Entry[string]{ID: "k"})
	mustAddTo(t, s, Entry[string]{ID: "gone"})
	want := time.Minute + RedisKeyMargin
	for _, key := range b.keys(t, c, rs.prefix) {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl > want || ttl < want-time.Minute {
			t.Errorf("%s has a TTL of %v, want about %v (the entry's expiry plus RedisKeyMargin)", key, ttl, want)
		}
	}
	if b.mini != nil {
		// Nobody sweeps: Redis deletes the keys by itself.
		b.mini.FastForward(want)
		if keys := b.keys(t, c, rs.prefix); len(keys) != 0 {
			t.Errorf("keys %v outlived their TTL", keys)
		}
		return
	}
	// On a real server, delete one entry's hash as Redis would at its TTL:
	// the sweep finds only its ID, removes it, says so, and times out the
	// other.
	if err := c.Del(ctx, rs.prefix+"pending:gone").Err(); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep(ctx, testStart.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1, nil", n, err)
	}
	if ids := rs.timedOutIDs(); !slices.Equal(ids, []string{"k"}) {
		t.Errorf("timed out %v, want [k]", ids)
	}
	if !strings.Contains(rs.logs.String(), "already deleted") {
		t.Errorf("the sweep did not log the entry Redis deleted; logs:\n%s", rs.logs)
	}
	if keys := b.keys(t, c, rs.prefix); len(keys) != 0 {
		t.Errorf("keys %v left after the sweep", keys)
	}
}

func testRedisMalformedValue(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{SweepInterval: time.Hour})
	s := rs.stores[0]
	c := s.opts.Client
	for _, id := range []string{"resolve", "done", "sweep", "stream"} {
		mustAddTo(t, s, Entry[string]{ID: id, Streaming: id == "stream"})
		// What another build of the service, with another value type, wrote.
		if err := c.HSet(ctx, rs.prefix+"pending:"+id, "v", "{not json").Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range []struct {
		name string
		f    func(context.Context, string) (Entry[string], bool, error)
		id   string
	}{{"Resolve", s.Resolve, "resolve"}, {"Done", s.Done, "done"}, {"Resolve", s.Resolve, "stream"}} {
		_, ok, err := call.f(ctx, call.id)
		if err == nil || ok || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "decoding the value") {
			t.Errorf("%s(%s) of a malformed value = %v, %v; want a decoding error, not ErrUnavailable", call.name, call.id, ok, err)
		}
	}
	if keys := b.keys(t, c, rs.prefix+"pending:"); !slices.Equal(sorted(keys), []string{rs.prefix + "pending:stream", rs.prefix + "pending:sweep"}) {
		t.Errorf("entries left: %v; want only the streaming one and the one never asked for", keys)
	}
	n, err := s.Sweep(ctx, testStart.Add(time.Minute))
	if err != nil || n != 0 {
		t.Errorf("Sweep = %d, %v; want 0 timed out, nil", n, err)
	}
	if ids := rs.timedOutIDs(); len(ids) != 0 {
		t.Errorf("timed out %v; want nothing (their values cannot be decoded)", ids)
	}
	if logs := rs.logs.String(); strings.Count(logs, "cannot be decoded") != 2 {
		t.Errorf("the sweep did not log both undecodable entries; logs:\n%s", logs)
	}
	if keys := b.keys(t, c, rs.prefix); len(keys) != 0 {
		t.Errorf("keys %v left after the sweep", keys)
	}
}

func testRedisCodecErrorOnAdd(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 1, RedisOptions[string]{Codec: failingCodec{marshal: true}})
	err := rs.stores[0].Add(ctx, Entry[string]{ID: "c"})
	if !errors.Is(err, errCodec) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Add with a failing codec = %v, want the codec's error", err)
	}
	// A closure cannot cross processes: the JSON codec says so.
	fs, err := NewRedis(ctx, RedisOptions[func()]{Client: b.client(t, true), Prefix: rs.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if err := fs.Add(ctx, Entry[func()]{ID: "f", Value: func() {}}); err == nil || !strings.Contains(err.Error(), "encoding the value") {
		t.Errorf("Add of a closure = %v, want an encoding error", err)
	}
	if keys := b.keys(t, rs.stores[0].opts.Client, rs.prefix); len(keys) != 0 {
		t.Errorf("keys %v written by Adds that failed", keys)
	}
}

func testRedisClose(t *testing.T, b *redisBackend) {
	release := make(chan struct{})
	started := make(chan string, 1)
	rs := newReplicas(t, b, 2, RedisOptions[string]{
		OnTimeout: func(e Entry[string]) {
			if e.ID == "slow" {
				started <- e.ID
				<-release
			}
		},
	})
	s, other := rs.stores[0], rs.stores[1]
	// Only the first replica sweeps: the other closes first, and stops.
	closeStoreWithin(t, other)
	if n := pendingTimers(rs.clock); n != 1 {
		t.Fatalf("%d timers after one of two replicas closed, want 1", n)
	}
	mustAddTo(t, s, Entry[string]{ID: "slow"})
	mustAddTo(t, s, Entry[string]{ID: "kept", Expires: testStart.Add(time.Hour)})
	go rs.clock.Advance(time.Minute)
	<-started
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while OnTimeout was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	if n := pendingTimers(rs.clock); n != 0 {
		t.Errorf("%d timers after every replica closed, want 0", n)
	}
	if err := s.opts.Client.Ping(ctx).Err(); err != nil {
		t.Errorf("the client no longer works after Close: %v", err)
	}
	if err := s.Add(ctx, Entry[string]{ID: "after"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if _, ok := resolveIn(t, s, "kept"); ok {
		t.Error("Resolve after Close succeeded")
	}
	if n, err := s.Sweep(ctx, testStart.Add(2*time.Hour)); n != 0 || err != nil {
		t.Errorf("Sweep after Close = %d, %v; want 0, nil", n, err)
	}
	// Close dropped nothing: a replica still running (here a new one) finds
	// the entry.
	late, err := NewRedis(ctx, RedisOptions[string]{Client: b.client(t, true), Prefix: rs.prefix, Clock: rs.clock})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if _, ok := resolveIn(t, late, "kept"); !ok {
		t.Error("the entry a closed replica added is gone for the others")
	}
	if st := s.Stats(); st.Dropped != 0 || st.TimedOut != 1 {
		t.Errorf("Stats after Close = %+v; want TimedOut 1, Dropped 0", st)
	}
}

func testRedisStats(t *testing.T, b *redisBackend) {
	rs := newReplicas(t, b, 2, RedisOptions[string]{})
	a, other := rs.stores[0], rs.stores[1]
	for i := range 5 {
		mustAddTo(t, a, Entry[string]{ID: strconv.Itoa(i)})
	}
	resolveIn(t, other, "0")
	doneIn(t, other, "1")
	want := func(s *Redis[string], w Stats) {
		t.Helper()
		if got := s.Stats(); got != w {
			t.Errorf("Stats = %+v, want %+v", got, w)
		}
	}
	want(a, Stats{Pending: 3, Added: 5})
	want(other, Stats{Pending: 3, Resolved: 1, Done: 1})
	rs.clock.Advance(time.Minute)
	sa, so := a.Stats(), other.Stats()
	if sa.Pending != 0 || so.Pending != 0 || sa.TimedOut+so.TimedOut != 3 {
		t.Errorf("Stats after the timeouts = %+v and %+v; want Pending 0 and 3 timed out between them", sa, so)
	}
}

func testRedisUnavailable(t *testing.T, b *redisBackend) {
	const callTimeout = 300 * time.Millisecond
	// Through a proxy, so that a real server can "go down" too.
	proxy := newStallProxy(t, b.opts.Addr)
	prefix := b.prefix(t)
	clock := newTestClock()
	s, err := NewRedis(ctx, RedisOptions[string]{
		Client: b.clientVia(t, proxy.Addr(), true), Prefix: prefix, Clock: clock, CallTimeout: callTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStoreWithin(t, s)
	mustAddTo(t, s, Entry[string]{ID: "a"})
	mustAddTo(t, s, Entry[string]{ID: "b"})
	if p := s.Stats().Pending; p != 2 {
		t.Fatalf("Pending = %d, want 2", p)
	}

	if b.mini != nil {
		b.mini.Close()
	}
	proxy.Close()
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"Add", func() error { return s.Add(ctx, Entry[string]{ID: "c"}) }},
		{"Resolve", func() error { _, _, err := s.Resolve(ctx, "a"); return err }},
		{"Done", func() error { _, _, err := s.Done(ctx, "b"); return err }},
		{"Sweep", func() error { _, err := s.Sweep(ctx, testStart.Add(time.Hour)); return err }},
	} {
		_, err := returns(t, call.name, call.f)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Redis down = %v, want an error matching ErrUnavailable", call.name, err)
		}
		var tr interface{ Transient() bool }
		if !errors.As(err, &tr) || !tr.Transient() {
			t.Errorf("%s with Redis down = %v, want an error saying it is transient (so a webhook answers retry)", call.name, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "tracking: redis "+strings.ToLower(call.name)+" ") {
			t.Errorf("%s error %q does not say what failed", call.name, err)
		}
	}
	if p := s.Stats().Pending; p != 2 {
		t.Errorf("Pending with Redis down = %d, want the last known 2", p)
	}
	// The sweep timer survives a failed sweep and logs it.
	clock.Advance(time.Hour)
	if n := pendingTimers(clock); n != 1 {
		t.Errorf("%d timers after a failed timed sweep, want 1", n)
	}

	_, err = NewRedis(ctx, RedisOptions[string]{Client: b.clientVia(t, proxy.Addr(), true), Prefix: prefix, CallTimeout: callTimeout})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "is unreachable") || !strings.Contains(err.Error(), "LC_REDIS_URL") {
		t.Errorf("NewRedis with Redis down = %v, want an ErrUnavailable naming LC_REDIS_URL", err)
	}
	short, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err = RedisFromURL(short, "redis://"+proxy.Addr()+"/0")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), proxy.Addr()) {
		t.Errorf("RedisFromURL with Redis down = %v, want an ErrUnavailable naming the address", err)
	}
}

// CallTimeout bounds every call, as does the caller's context when its
// deadline comes first. The clients have no read or write timeout of
// their own, so a call to a server that hangs would otherwise never end
// (returns fails the test then).
func testRedisSlowCallBounded(t *testing.T, b *redisBackend) {
	const callTimeout = 200 * time.Millisecond
	for _, contextTimeouts := range []bool{true, false} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", contextTimeouts), func(t *testing.T) {
			proxy := newStallProxy(t, b.opts.Addr)
			client := b.clientVia(t, proxy.Addr(), contextTimeouts)
			prefix := b.prefix(t)
			s, err := NewRedis(ctx, RedisOptions[string]{Client: client, Prefix: prefix, Clock: newTestClock(), CallTimeout: callTimeout})
			if err != nil {
				t.Fatal(err)
			}
			defer closeStoreWithin(t, s)
			// A store whose CallTimeout outlasts the test: only the caller's
			// context can end its calls.
			patient, err := NewRedis(ctx, RedisOptions[string]{Client: client, Prefix: prefix, Clock: newTestClock(), CallTimeout: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer closeStoreWithin(t, patient)
			mustAddTo(t, s, Entry[string]{ID: "a"})
			proxy.stalled.Store(true) // the server hangs: no answer comes
			// ctx has no deadline: CallTimeout bounds the call all the same.
			elapsed, err := returns(t, "Resolve", func() error { _, _, err := s.Resolve(ctx, "a"); return err })
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("Resolve with the server hanging = %v, want ErrUnavailable", err)
			}
			if elapsed < callTimeout-10*time.Millisecond {
				t.Errorf("Resolve with the server hanging returned after %v, before CallTimeout (%v)", elapsed, callTimeout)
			}
			// The caller's own deadline ends a call too.
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if _, err := returns(t, "Add with a 20ms deadline", func() error { return patient.Add(short, Entry[string]{ID: "b"}) }); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Add with the server hanging = %v, want ErrUnavailable", err)
			}
		})
	}
	// A server that never answers is reported by NewRedis within CallTimeout.
	proxy := newStallProxy(t, b.opts.Addr)
	proxy.stalled.Store(true)
	_, err := returns(t, "NewRedis", func() error {
		_, err := NewRedis(ctx, RedisOptions[string]{Client: b.clientVia(t, proxy.Addr(), false), Prefix: b.prefix(t), CallTimeout: callTimeout})
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("NewRedis against a hanging server = %v, want ErrUnavailable", err)
	}
}

// Tests that need no server beyond miniredis.

func TestNewRedisRejectsInvalidOptions(t *testing.T) {
	b := newMiniBackend(t)
	c := b.client(t, true)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{b.opts.Addr}})
	defer cluster.Close()
	tests := []struct {
		name string
		opts RedisOptions[string]
	}{
		{"no client", RedisOptions[string]{Prefix: "p:"}},
		{"no prefix", RedisOptions[string]{Client: c}},
		{"negative TTL", RedisOptions[string]{Client: c, Prefix: "p:", TTL: -time.Second}},
		{"negative CallTimeout", RedisOptions[string]{Client: c, Prefix: "p:", CallTimeout: -time.Second}},
		{"negative SweepInterval", RedisOptions[string]{Client: c, Prefix: "p:", SweepInterval: -time.Second}},
		{"negative MaxClaim", RedisOptions[string]{Client: c, Prefix: "p:", MaxClaim: -1}},
		{"cluster without hash tag", RedisOptions[string]{Client: cluster, Prefix: "lcservice:packages:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewRedis(ctx, tt.opts)
			if !errors.Is(err, ErrInvalidOptions) || s != nil {
				t.Errorf("NewRedis = %v, %v; want nil, ErrInvalidOptions", s, err)
			}
		})
	}
}

func TestNewRedisDefaults(t *testing.T) {
	b := newMiniBackend(t)
	s, err := NewRedis(ctx, RedisOptions[string]{Client: b.client(t, true), Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := s.opts
	if o.TTL != DefaultTTL || o.CallTimeout != DefaultCallTimeout || o.SweepInterval != DefaultSweepInterval ||
		o.MaxClaim != DefaultMaxClaim || o.Clock != SystemClock() || o.Codec == nil || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
}

func TestRedisFromURL(t *testing.T) {
	b := newMiniBackend(t)
	c, err := RedisFromURL(ctx, "redis://"+b.opts.Addr+"/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Options().ContextTimeoutEnabled {
		t.Error("RedisFromURL's client does not bound its calls by the context")
	}
	for _, url := range []string{"", "http://127.0.0.1:6379", "redis://user:s3cret@127.0.0.1:bad/0", "redis://127.0.0.1:6379/notadb"} {
		_, err := RedisFromURL(ctx, url)
		if err == nil || !strings.Contains(err.Error(), "LC_REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("RedisFromURL(%q) = %v, want an error naming LC_REDIS_URL without the password", url, err)
		}
	}
}

func TestJSONCodec(t *testing.T) {
	type handler struct {
		Name   string
		Sensor string
	}
	c := JSONCodec[handler]()
	in := handler{"packages", "sid-1"}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Unmarshal(b)
	if err != nil || out != in {
		t.Errorf("round trip = %+v, %v; want %+v", out, err, in)
	}
	if _, err := c.Unmarshal([]byte("{")); err == nil {
		t.Error("Unmarshal of broken JSON succeeded")
	}
}
