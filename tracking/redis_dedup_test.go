package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/lcsvc/lcservice/service"
	"github.com/redis/go-redis/v9"
)

// The de-duplication stores' behaviour is one suite, run against miniredis
// always and against a real redis-server when LCSERVICE_TEST_REDIS_URL
// names one, as the Redis store's is.
var dedupSuite = []struct {
	name string
	run  func(t *testing.T, b *redisBackend)
}{
	{"DeliveriesClaimAnswerForget", testDeliveriesClaimAnswerForget},
	{"DeliveriesOversizeAnswer", testDeliveriesOversizeAnswer},
	{"DeliveriesConcurrentBeginOneClaims", testDeliveriesConcurrentBegin},
	{"DeliveriesClaimEndsAtDeadline", testDeliveriesClaimEndsAtDeadline},
	{"DeliveriesAnswerWindow", testDeliveriesAnswerWindow},
	{"DeliveriesPrefixesAreSeparate", testDeliveriesPrefixesAreSeparate},
	{"DeliveriesKeysAreHashed", testDeliveriesKeysAreHashed},
	{"DeliveriesForeignRecord", testDeliveriesForeignRecord},
	{"DeliveriesUnavailable", testDeliveriesUnavailable},
	{"DeliveriesTwoServicesRunOnce", testDeliveriesTwoServices},
	{"IdempotencyClaimFinishAbandon", testIdempotencyClaimFinishAbandon},
	{"IdempotencyOversizeAnswer", testIdempotencyOversizeAnswer},
	{"IdempotencyConcurrentBeginOneClaims", testIdempotencyConcurrentBegin},
	{"IdempotencyClaimEndsAtClaimTTL", testIdempotencyClaimEndsAtClaimTTL},
	{"IdempotencyAnswerTTL", testIdempotencyAnswerTTL},
	{"IdempotencyPrefixesAreSeparate", testIdempotencyPrefixesAreSeparate},
	{"IdempotencyForeignRecord", testIdempotencyForeignRecord},
	{"IdempotencyUnavailable", testIdempotencyUnavailable},
	{"IdempotencyTwoExtensionsRunOnce", testIdempotencyTwoExtensions},
}

func TestRedisDedupMiniredis(t *testing.T) {
	for _, tc := range dedupSuite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newMiniBackend(t)) })
	}
}

func TestRedisDedupServer(t *testing.T) {
	realBackend(t) // skips when no server is named
	for _, tc := range dedupSuite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, realBackend(t)) })
	}
}

// newDeliveries returns n delivery stores on prefix, each with its own
// client, as the replicas of a service have.
func newDeliveries(t *testing.T, b *redisBackend, n int, opts RedisDeliveriesOptions) []*RedisDeliveries {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = b.prefix(t)
	}
	var stores []*RedisDeliveries
	for range n {
		d, err := NewRedisDeliveries(b.client(t, true), opts)
		if err != nil {
			t.Fatalf("NewRedisDeliveries: %v", err)
		}
		stores = append(stores, d)
	}
	return stores
}

// newIdempotency is newDeliveries for idempotency stores.
func newIdempotency(t *testing.T, b *redisBackend, n int, opts RedisIdempotencyOptions) []*RedisIdempotency {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = b.prefix(t)
	}
	var stores []*RedisIdempotency
	for range n {
		s, err := NewRedisIdempotency(b.client(t, true), opts)
		if err != nil {
			t.Fatalf("NewRedisIdempotency: %v", err)
		}
		stores = append(stores, s)
	}
	return stores
}

func begin(t *testing.T, d *RedisDeliveries, key string, deadline time.Time) service.Delivery {
	t.Helper()
	got, err := d.Begin(ctx, key, deadline)
	if err != nil {
		t.Fatalf("Begin(%q): %v", key, err)
	}
	return got
}

func finish(t *testing.T, d *RedisDeliveries, key string, answer []byte) {
	t.Helper()
	if err := d.Finish(ctx, key, answer); err != nil {
		t.Fatalf("Finish(%q): %v", key, err)
	}
}

// The key a service builds: its name, event type, organization and mid.
const deliveryKey = "packages\x00org_install\x0011111111-2222-3333-4444-555555555555\x00mid-1"

func testDeliveriesClaimAnswerForget(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 2, RedisDeliveriesOptions{})
	a, other := ds[0], ds[1]
	deadline := time.Now().Add(time.Hour).Add(1500 * time.Microsecond)
	if d := begin(t, a, deliveryKey, deadline); !d.Claimed || d.Answer != nil {
		t.Fatalf("first Begin = %+v, want Claimed", d)
	}
	// In progress for every replica, this one included, until the deadline
	// (rounded up to Redis's millisecond).
	for i, s := range ds {
		d := begin(t, s, deliveryKey, time.Now().Add(time.Hour))
		if d.Claimed || d.Answer != nil || d.Done != nil || !d.Deadline.Equal(time.UnixMilli(ceilMilli(deadline))) {
			t.Errorf("replica %d: Begin while in progress = %+v; want the first delivery's deadline %v and no Done", i, d, deadline)
		}
	}
	finish(t, a, deliveryKey, []byte(`{"success":true,"data":{"run":1}}`))
	for i, s := range ds {
		if d := begin(t, s, deliveryKey, deadline); d.Claimed || string(d.Answer) != `{"success":true,"data":{"run":1}}` {
			t.Errorf("replica %d: Begin after the answer = %+v, want the answer", i, d)
		}
	}
	// The first answer stays: a late Finish (a delivery whose claim had
	// ended) does not replace it, nor does a retry forget it.
	finish(t, other, deliveryKey, []byte(`{"success":true,"data":{"run":2}}`))
	finish(t, other, deliveryKey, nil)
	finish(t, a, deliveryKey, nil)
	if d := begin(t, other, deliveryKey, deadline); string(d.Answer) != `{"success":true,"data":{"run":1}}` {
		t.Errorf("Begin after a second answer and two retries = %+v, want the first answer", d)
	}

	// A retry (nil answer) forgets the key: the next delivery runs.
	const retried = "retried"
	begin(t, a, retried, deadline)
	finish(t, a, retried, nil)
	if d := begin(t, other, retried, deadline); !d.Claimed {
		t.Errorf("Begin after a retry = %+v, want Claimed", d)
	}
	// Only the store that holds a claim forgets it: a (the replica whose
	// own claim ended, say) cannot end other's.
	finish(t, a, retried, nil)
	if d := begin(t, a, retried, deadline); d.Claimed {
		t.Errorf("another store's retry ended a claim: Begin = %+v, want in progress", d)
	}
	finish(t, other, retried, nil)
	if d := begin(t, a, retried, deadline); !d.Claimed {
		t.Errorf("Begin after the claimer's retry = %+v, want Claimed", d)
	}
	// An empty answer is an answer.
	finish(t, a, retried, []byte{})
	if d := begin(t, other, retried, deadline); d.Claimed || d.Answer == nil || len(d.Answer) != 0 {
		t.Errorf("Begin after an empty answer = %+v, want an empty, non-nil answer", d)
	}
}

func testDeliveriesOversizeAnswer(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 1, RedisDeliveriesOptions{MaxAnswer: 10})
	d := ds[0]
	deadline := time.Now().Add(time.Hour)
	begin(t, d, "big", deadline)
	finish(t, d, "big", bytes.Repeat([]byte("x"), 11))
	if got := begin(t, d, "big", deadline); !got.Claimed {
		t.Errorf("Begin after an answer over MaxAnswer = %+v, want Claimed (not kept)", got)
	}
	begin(t, d, "fits", deadline)
	finish(t, d, "fits", bytes.Repeat([]byte("x"), 10))
	if got := begin(t, d, "fits", deadline); len(got.Answer) != 10 {
		t.Errorf("Begin after an answer of MaxAnswer bytes = %+v, want it kept", got)
	}
}

func testDeliveriesConcurrentBegin(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 2, RedisDeliveriesOptions{})
	const rounds, perReplica = 100, 4
	var wins [2]int
	deadline := time.Now().Add(time.Hour)
	for round := range rounds {
		key := "round-" + strconv.Itoa(round)
		var mu sync.Mutex
		var claimed []int
		var wg sync.WaitGroup
		for i, d := range ds {
			for range perReplica {
				wg.Go(func() {
					got, err := d.Begin(ctx, key, deadline)
					if err != nil {
						t.Error(err)
						return
					}
					if got.Claimed {
						mu.Lock()
						claimed = append(claimed, i)
						mu.Unlock()
					} else if got.Deadline.IsZero() {
						t.Errorf("round %d: Begin = %+v, want Claimed or in progress", round, got)
					}
				})
			}
		}
		wg.Wait()
		if len(claimed) != 1 {
			t.Fatalf("round %d: %d of %d concurrent Begins claimed the key (replicas %v), want exactly 1", round, len(claimed), 2*perReplica, claimed)
		}
		wins[claimed[0]]++
		finish(t, ds[claimed[0]], key, []byte(key))
		for _, d := range ds {
			if got := begin(t, d, key, deadline); string(got.Answer) != key {
				t.Fatalf("round %d: Begin after the answer = %+v", round, got)
			}
		}
	}
	t.Logf("replica 0 claimed %d rounds, replica 1 %d", wins[0], wins[1])
}

// sleepUntil waits for the moment at on this process's clock. The tests
// against a real redis-server use it where a key's TTL lapsing is their
// subject: Redis's clock cannot be moved, so that time has to pass.
func sleepUntil(at time.Time) {
	time.Sleep(time.Until(at)) // time passing is the subject of every caller
}

// expiryMargin covers Redis's millisecond: a key whose TTL ends at
// millisecond m expires after m, not at it.
const expiryMargin = 2 * time.Millisecond

func testDeliveriesClaimEndsAtDeadline(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 2, RedisDeliveriesOptions{})
	crashed, other := ds[0], ds[1] // the first claims, then never finishes
	if b.mini != nil {
		deadline := time.Now().Add(time.Hour)
		begin(t, crashed, deliveryKey, deadline)
		b.mini.FastForward(59 * time.Minute)
		if d := begin(t, other, deliveryKey, deadline); d.Claimed {
			t.Fatal("the claim ended before its deadline")
		}
		b.mini.FastForward(time.Minute)
		if d := begin(t, other, deliveryKey, deadline.Add(time.Hour)); !d.Claimed {
			t.Fatalf("Begin after the claim's deadline = %+v, want Claimed", d)
		}
		// A deadline already past claims for a millisecond, so that
		// nothing is held for a delivery that is out of time.
		begin(t, crashed, "late", time.Now().Add(-time.Second))
		b.mini.FastForward(time.Millisecond)
		if d := begin(t, other, "late", time.Now().Add(time.Hour)); !d.Claimed {
			t.Errorf("Begin a millisecond after a claim with a past deadline = %+v, want Claimed", d)
		}
		return
	}
	// The store gives the key a TTL of the time left until the deadline
	// when it calls Redis, rounded up to the millisecond: the key lapses no
	// sooner than the deadline, and no later than the deadline plus the
	// call's round trip, that millisecond and Redis's.
	const hold = 300 * time.Millisecond
	sent := time.Now()
	deadline := sent.Add(hold)
	begin(t, crashed, deliveryKey, deadline)
	lapsed := deadline.Add(time.Since(sent) + time.Millisecond + expiryMargin)
	// A Begin answered before the deadline cannot claim: now, and just
	// before the deadline.
	probe := func(when string) {
		t.Helper()
		d := begin(t, other, deliveryKey, time.Now().Add(time.Hour))
		if answered := time.Now(); d.Claimed && answered.Before(deadline) {
			t.Fatalf("a Begin answered %v before the claim's deadline (%s) claimed the key", deadline.Sub(answered), when)
		}
	}
	probe("right after the claim")
	sleepUntil(deadline.Add(-hold / 10)) // the claim's lapse is the subject
	probe("just before the deadline")
	sleepUntil(lapsed) // the claim's lapse is the subject
	if d := begin(t, other, deliveryKey, time.Now().Add(time.Hour)); !d.Claimed {
		t.Fatalf("Begin after the claim's deadline = %+v, want Claimed", d)
	}
	// A deadline already past claims for a millisecond, so that nothing is
	// held for a delivery that is out of time.
	begin(t, crashed, "late", time.Now().Add(-time.Second))
	sleepUntil(time.Now().Add(time.Millisecond + expiryMargin)) // the claim's lapse is the subject
	if d := begin(t, other, "late", time.Now().Add(time.Hour)); !d.Claimed {
		t.Errorf("Begin after a claim with a past deadline lapsed = %+v, want Claimed", d)
	}
}

func testDeliveriesAnswerWindow(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 1, RedisDeliveriesOptions{Window: 10 * time.Minute})
	d := ds[0]
	begin(t, d, deliveryKey, time.Now().Add(time.Hour))
	finish(t, d, deliveryKey, []byte("answer"))
	c := d.s.client
	ttl, err := c.PTTL(ctx, d.s.key(deliveryKey)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 10*time.Minute || ttl < 9*time.Minute {
		t.Errorf("the answer's key has a TTL of %v, want the 10m window", ttl)
	}
	if b.mini == nil {
		return // Redis's own expiry is not the store's to test on a real server
	}
	b.mini.FastForward(10*time.Minute - time.Second)
	if got := begin(t, d, deliveryKey, time.Now().Add(time.Hour)); string(got.Answer) != "answer" {
		t.Fatalf("Begin within the window = %+v, want the answer", got)
	}
	b.mini.FastForward(time.Second)
	if got := begin(t, d, deliveryKey, time.Now().Add(time.Hour)); !got.Claimed {
		t.Errorf("Begin after the window = %+v, want Claimed", got)
	}
}

func testDeliveriesPrefixesAreSeparate(t *testing.T, b *redisBackend) {
	one := newDeliveries(t, b, 1, RedisDeliveriesOptions{})[0]
	two := newDeliveries(t, b, 1, RedisDeliveriesOptions{})[0]
	deadline := time.Now().Add(time.Hour)
	begin(t, one, deliveryKey, deadline)
	if d := begin(t, two, deliveryKey, deadline); !d.Claimed {
		t.Errorf("a claim under one prefix held the key under another: %+v", d)
	}
	finish(t, one, deliveryKey, []byte("one"))
	if d := begin(t, two, deliveryKey, deadline); d.Answer != nil || d.Claimed {
		t.Errorf("Begin under the second prefix = %+v, want its own claim in progress", d)
	}
	finish(t, two, deliveryKey, []byte("two"))
	if d := begin(t, one, deliveryKey, deadline); string(d.Answer) != "one" {
		t.Errorf("first prefix answers %+v, want its own answer", d)
	}
	if d := begin(t, two, deliveryKey, deadline); string(d.Answer) != "two" {
		t.Errorf("second prefix answers %+v, want its own answer", d)
	}
}

func testDeliveriesKeysAreHashed(t *testing.T, b *redisBackend) {
	prefix := b.prefix(t)
	d := newDeliveries(t, b, 1, RedisDeliveriesOptions{Prefix: prefix})[0]
	deadline := time.Now().Add(time.Hour)
	long := strings.Repeat("m", 10000)
	for _, k := range []string{deliveryKey, long, "*", ""} {
		begin(t, d, k, deadline)
	}
	keys := b.keys(t, d.s.client, prefix)
	hashed := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `deliveries:[0-9a-f]{64}$`)
	if len(keys) != 4 {
		t.Errorf("keys %q for 4 messages, want 4", keys)
	}
	for _, k := range keys {
		if !hashed.MatchString(k) {
			t.Errorf("key %q is not <prefix>deliveries:<SHA-256 hex>", k)
		}
	}
}

func testDeliveriesForeignRecord(t *testing.T, b *redisBackend) {
	d := newDeliveries(t, b, 1, RedisDeliveriesOptions{})[0]
	if err := d.s.client.Set(ctx, d.s.key(deliveryKey), "something else", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Begin(ctx, deliveryKey, time.Now().Add(time.Hour))
	if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "did not write") {
		t.Errorf("Begin over a record the store did not write = %v; want an error saying so, not ErrUnavailable", err)
	}
}

// downCase is how Redis goes down: the miniredis closes (or the proxy to
// the real server does), or the server hangs.
type downCase struct {
	name  string
	stall bool
}

var downCases = []downCase{{"closed", false}, {"hanging", true}}

// downClient returns a client through a proxy to b, and a function that
// takes Redis down as c says.
func downClient(t *testing.T, b *redisBackend, c downCase, contextTimeouts bool) (redis.UniversalClient, func()) {
	proxy := newStallProxy(t, b.opts.Addr)
	return b.clientVia(t, proxy.Addr(), contextTimeouts), func() {
		if c.stall {
			proxy.stalled.Store(true)
			return
		}
		if b.mini != nil {
			b.mini.Close()
		}
		proxy.Close()
	}
}

// checkUnavailable runs call, which should fail, bounded by CallTimeout,
// with an error matching ErrUnavailable that starts with prefix.
func checkUnavailable(t *testing.T, name, prefix string, call func() error) {
	t.Helper()
	_, err := returns(t, name, call)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("%s with Redis down = %v, want an error matching ErrUnavailable", name, err)
	} else if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("%s error %q does not start with %q", name, err, prefix)
	}
}

func testDeliveriesUnavailable(t *testing.T, b *redisBackend) {
	const callTimeout = 200 * time.Millisecond
	for _, c := range downCases {
		for _, contextTimeouts := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/ContextTimeoutEnabled=%v", c.name, contextTimeouts), func(t *testing.T) {
				b := b
				if !c.stall && b.mini != nil {
					b = newMiniBackend(t) // closed by the case
				}
				client, down := downClient(t, b, c, contextTimeouts)
				d, err := NewRedisDeliveries(client, RedisDeliveriesOptions{Prefix: b.prefix(t), CallTimeout: callTimeout})
				if err != nil {
					t.Fatal(err)
				}
				begin(t, d, "claimed", time.Now().Add(time.Hour))
				down()
				checkUnavailable(t, "Begin", `tracking: redis delivery begin "k": `, func() error {
					_, err := d.Begin(ctx, "k", time.Now().Add(time.Hour))
					return err
				})
				checkUnavailable(t, "Finish", `tracking: redis delivery finish "claimed": `, func() error {
					return d.Finish(ctx, "claimed", []byte("answer"))
				})
				checkUnavailable(t, "Finish(nil)", `tracking: redis delivery finish "claimed": `, func() error {
					return d.Finish(ctx, "claimed", nil)
				})
			})
		}
	}
}

// webhookSecret signs the webhooks of the end-to-end tests.
const webhookSecret = "dedup-secret"

// post delivers raw, signed under header, to h and returns the status and
// the body of the answer.
func post(t *testing.T, h http.Handler, header string, raw []byte) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
	req.Header.Set(header, service.Sign([]byte(webhookSecret), raw))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// newServiceReplica returns a service (a replica) with opts, its logs
// discarded unless the test fails.
func newServiceReplica(t *testing.T, name string, opts ...service.Option) *service.Service {
	t.Helper()
	logs := &logBuffer{}
	svc, err := service.New(name, webhookSecret, append([]service.Option{service.WithLogOutput(logs, logs)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = svc.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, logs)
		}
	})
	return svc
}

// Two replicas of a service, on one Redis: a webhook delivered to both,
// one after the other or at once, runs its handler once, and both answer
// the same.
func testDeliveriesTwoServices(t *testing.T, b *redisBackend) {
	ds := newDeliveries(t, b, 2, RedisDeliveriesOptions{})
	var mu sync.Mutex
	runs := map[string]int{}
	gates := map[string]chan struct{}{} // a mid whose handler waits
	started := make(chan string, 100)   // the mids whose handler waits at its gate
	var svcs []*service.Service
	for i, d := range ds {
		svc := newServiceReplica(t, "packages", service.WithDeliveryStore(d))
		svc.OnOrgInstall(func(_ context.Context, r *service.Request) service.Response {
			mu.Lock()
			runs[r.MessageID]++
			n, gate := runs[r.MessageID], gates[r.MessageID]
			mu.Unlock()
			if gate != nil {
				started <- r.MessageID
				<-gate
			}
			return service.OK(map[string]any{"replica": i, "run": n})
		})
		svcs = append(svcs, svc)
	}
	body := func(mid string) []byte {
		raw, err := json.Marshal(map[string]any{
			"version": 1, "oid": "11111111-2222-3333-4444-555555555555", "mid": mid,
			"deadline": float64(time.Now().Add(590*time.Second).UnixMilli()) / 1000,
			"jwt":      "header.payload.signature", "etype": string(service.OrgInstall), "data": map[string]any{},
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	runsOf := func(mid string) int {
		mu.Lock()
		defer mu.Unlock()
		return runs[mid]
	}

	// One after the other.
	raw := body("mid-sequential")
	status0, answer0 := post(t, svcs[0], service.SignatureHeader, raw)
	status1, answer1 := post(t, svcs[1], service.SignatureHeader, raw)
	if status0 != http.StatusOK || status1 != http.StatusOK || answer0 != answer1 || runsOf("mid-sequential") != 1 {
		t.Errorf("the handler ran %d times; answers %d %s and %d %s; want once, the same answer twice",
			runsOf("mid-sequential"), status0, answer0, status1, answer1)
	}
	if !strings.Contains(answer0, `"run":1`) {
		t.Errorf("answer %s is not the handler's", answer0)
	}
	if svcs[1].Stats().Duplicates != 1 {
		t.Errorf("the second replica counted %d duplicates, want 1", svcs[1].Stats().Duplicates)
	}

	// At once, the first delivery still running when the second arrives:
	// the second waits for its answer (polling Redis).
	for round := range 5 {
		mid := "mid-concurrent-" + strconv.Itoa(round)
		gate := make(chan struct{})
		mu.Lock()
		gates[mid] = gate
		mu.Unlock()
		raw := body(mid)
		var answers [2]string
		var wg sync.WaitGroup
		for i, svc := range svcs {
			wg.Go(func() {
				status, answer := post(t, svc, service.SignatureHeader, raw)
				if status != http.StatusOK {
					t.Errorf("replica %d answered %d %s", i, status, answer)
				}
				answers[i] = answer
			})
		}
		select {
		case <-started: // a replica runs the handler; the other waits for its answer
		case <-time.After(bubble.WaitLimit(t)):
			t.Fatalf("round %d: no replica ran the handler", round)
		}
		close(gate)
		wg.Wait()
		if runsOf(mid) != 1 || answers[0] != answers[1] {
			t.Errorf("round %d: the handler ran %d times; answers %s and %s; want once, the same answer twice", round, runsOf(mid), answers[0], answers[1])
		}
	}
}

func idemBegin(t *testing.T, s *RedisIdempotency, key string) (*extension.Answer, error) {
	t.Helper()
	a, err := s.Begin(ctx, key)
	if err != nil && !errors.Is(err, extension.ErrInProgress) {
		t.Fatalf("Begin(%q): %v", key, err)
	}
	return a, err
}

func idemFinish(t *testing.T, s *RedisIdempotency, key string, a extension.Answer) {
	t.Helper()
	if err := s.Finish(ctx, key, a); err != nil {
		t.Fatalf("Finish(%q): %v", key, err)
	}
}

func idemAbandon(t *testing.T, s *RedisIdempotency, key string) {
	t.Helper()
	if err := s.Abandon(ctx, key); err != nil {
		t.Fatalf("Abandon(%q): %v", key, err)
	}
}

func sameAnswer(a *extension.Answer, status int, body string) bool {
	return a != nil && a.Status == status && string(a.Body) == body && (body != "" || a.Body == nil)
}

func testIdempotencyClaimFinishAbandon(t *testing.T, b *redisBackend) {
	ss := newIdempotency(t, b, 2, RedisIdempotencyOptions{})
	a, other := ss[0], ss[1]
	const key = "parent:3"
	if got, err := idemBegin(t, a, key); got != nil || err != nil {
		t.Fatalf("first Begin = %v, %v; want nil, nil (claimed)", got, err)
	}
	for i, s := range ss {
		if got, err := idemBegin(t, s, key); got != nil || !errors.Is(err, extension.ErrInProgress) {
			t.Errorf("replica %d: Begin while in progress = %v, %v; want ErrInProgress", i, got, err)
		}
	}
	idemFinish(t, a, key, extension.Answer{Status: 200, Body: []byte(`{"data":{"run":1}}`)})
	for i, s := range ss {
		if got, err := idemBegin(t, s, key); err != nil || !sameAnswer(got, 200, `{"data":{"run":1}}`) {
			t.Errorf("replica %d: Begin after Finish = %+v, %v; want the answer", i, got, err)
		}
	}
	// Abandon releases claims only: the answer stays.
	idemAbandon(t, a, key)
	idemAbandon(t, other, key)
	if got, _ := idemBegin(t, other, key); !sameAnswer(got, 200, `{"data":{"run":1}}`) {
		t.Errorf("Begin after Abandon of an answered key = %+v, want the answer", got)
	}
	// Finish replaces what the key holds, as MemoryIdempotency does; an
	// empty body is recorded as none.
	idemFinish(t, other, key, extension.Answer{Status: 400, Body: []byte{}})
	if got, _ := idemBegin(t, a, key); !sameAnswer(got, 400, "") {
		t.Errorf("Begin after a second Finish = %+v, want status 400 and no body", got)
	}

	// Abandon releases the claim: the next delivery is handled afresh.
	const retried = "retried"
	idemBegin(t, a, retried)
	idemAbandon(t, other, retried) // not other's claim to release
	if _, err := idemBegin(t, other, retried); !errors.Is(err, extension.ErrInProgress) {
		t.Errorf("another store's Abandon released a claim: Begin = %v, want ErrInProgress", err)
	}
	idemAbandon(t, a, retried)
	if got, err := idemBegin(t, other, retried); got != nil || err != nil {
		t.Errorf("Begin after Abandon = %v, %v; want nil, nil (claimed)", got, err)
	}
}

func testIdempotencyOversizeAnswer(t *testing.T, b *redisBackend) {
	s := newIdempotency(t, b, 1, RedisIdempotencyOptions{MaxAnswer: 10})[0]
	idemBegin(t, s, "big")
	idemFinish(t, s, "big", extension.Answer{Status: 200, Body: bytes.Repeat([]byte("x"), 11)})
	if got, err := idemBegin(t, s, "big"); err != nil || !sameAnswer(got, 200, "") {
		t.Errorf("Begin after an answer over MaxAnswer = %+v, %v; want status 200 without a body", got, err)
	}
	idemBegin(t, s, "fits")
	idemFinish(t, s, "fits", extension.Answer{Status: 201, Body: []byte("0123456789")})
	if got, err := idemBegin(t, s, "fits"); err != nil || !sameAnswer(got, 201, "0123456789") {
		t.Errorf("Begin after an answer of MaxAnswer bytes = %+v, %v; want it whole", got, err)
	}
}

func testIdempotencyConcurrentBegin(t *testing.T, b *redisBackend) {
	ss := newIdempotency(t, b, 2, RedisIdempotencyOptions{})
	const rounds, perReplica = 100, 4
	for round := range rounds {
		key := "round-" + strconv.Itoa(round)
		var mu sync.Mutex
		var claimed []int
		var wg sync.WaitGroup
		for i, s := range ss {
			for range perReplica {
				wg.Go(func() {
					got, err := s.Begin(ctx, key)
					switch {
					case err == nil && got == nil:
						mu.Lock()
						claimed = append(claimed, i)
						mu.Unlock()
					case !errors.Is(err, extension.ErrInProgress):
						t.Errorf("round %d: Begin = %v, %v; want a claim or ErrInProgress", round, got, err)
					}
				})
			}
		}
		wg.Wait()
		if len(claimed) != 1 {
			t.Fatalf("round %d: %d of %d concurrent Begins claimed the key (replicas %v), want exactly 1", round, len(claimed), 2*perReplica, claimed)
		}
		idemFinish(t, ss[claimed[0]], key, extension.Answer{Status: 200, Body: []byte(key)})
	}
}

func testIdempotencyClaimEndsAtClaimTTL(t *testing.T, b *redisBackend) {
	if b.mini != nil {
		ss := newIdempotency(t, b, 2, RedisIdempotencyOptions{})
		idemBegin(t, ss[0], "k")
		b.mini.FastForward(DefaultIdempotencyClaimTTL - time.Second)
		if _, err := idemBegin(t, ss[1], "k"); !errors.Is(err, extension.ErrInProgress) {
			t.Fatalf("Begin before ClaimTTL = %v, want ErrInProgress", err)
		}
		b.mini.FastForward(time.Second)
		if got, err := idemBegin(t, ss[1], "k"); got != nil || err != nil {
			t.Errorf("Begin after ClaimTTL = %v, %v; want nil, nil (claimed)", got, err)
		}
		return
	}
	// The key's TTL is ClaimTTL from when Redis ran the call: it lapses no
	// later than ClaimTTL after the call was answered, and Redis's
	// millisecond.
	const claimTTL = 300 * time.Millisecond
	ss := newIdempotency(t, b, 2, RedisIdempotencyOptions{ClaimTTL: claimTTL})
	sent := time.Now()
	idemBegin(t, ss[0], "k")
	lapsed := time.Now().Add(claimTTL + expiryMargin)
	if _, err := idemBegin(t, ss[1], "k"); !errors.Is(err, extension.ErrInProgress) && time.Since(sent) < claimTTL {
		t.Fatalf("Begin within ClaimTTL = %v, want ErrInProgress", err)
	}
	sleepUntil(lapsed) // the claim's lapse is the subject
	if got, err := idemBegin(t, ss[1], "k"); got != nil || err != nil {
		t.Errorf("Begin after ClaimTTL = %v, %v; want nil, nil (claimed)", got, err)
	}
}

func testIdempotencyAnswerTTL(t *testing.T, b *redisBackend) {
	s := newIdempotency(t, b, 1, RedisIdempotencyOptions{TTL: 10 * time.Minute})[0]
	idemBegin(t, s, "k")
	idemFinish(t, s, "k", extension.Answer{Status: 200, Body: []byte("{}")})
	ttl, err := s.s.client.PTTL(ctx, s.s.key("k")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 10*time.Minute || ttl < 9*time.Minute {
		t.Errorf("the answer's key has a TTL of %v, want the 10m TTL", ttl)
	}
	if b.mini == nil {
		return
	}
	b.mini.FastForward(10 * time.Minute)
	if got, err := idemBegin(t, s, "k"); got != nil || err != nil {
		t.Errorf("Begin after the TTL = %v, %v; want nil, nil (claimed)", got, err)
	}
}

func testIdempotencyPrefixesAreSeparate(t *testing.T, b *redisBackend) {
	one := newIdempotency(t, b, 1, RedisIdempotencyOptions{})[0]
	two := newIdempotency(t, b, 1, RedisIdempotencyOptions{})[0]
	idemBegin(t, one, "k")
	if got, err := idemBegin(t, two, "k"); got != nil || err != nil {
		t.Errorf("a claim under one prefix held the key under another: %v, %v", got, err)
	}
	idemFinish(t, one, "k", extension.Answer{Status: 200, Body: []byte("one")})
	if _, err := idemBegin(t, two, "k"); !errors.Is(err, extension.ErrInProgress) {
		t.Errorf("Begin under the second prefix = %v, want its own claim in progress", err)
	}
	// A delivery store and an idempotency store may share a prefix.
	d := newDeliveries(t, b, 1, RedisDeliveriesOptions{Prefix: one.s.keys[:len(one.s.keys)-len("idempotency:")]})[0]
	if got := begin(t, d, "k", time.Now().Add(time.Hour)); !got.Claimed {
		t.Errorf("a delivery store on the idempotency store's prefix saw its record: %+v", got)
	}
}

func testIdempotencyForeignRecord(t *testing.T, b *redisBackend) {
	s := newIdempotency(t, b, 1, RedisIdempotencyOptions{})[0]
	for _, v := range []string{"something else", "a200", "aOK:body"} {
		if err := s.s.client.Set(ctx, s.s.key("k"), v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		_, err := s.Begin(ctx, "k")
		if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, extension.ErrInProgress) || !strings.Contains(err.Error(), "did not write") {
			t.Errorf("Begin over the record %q = %v; want an error saying the store did not write it", v, err)
		}
	}
}

func testIdempotencyUnavailable(t *testing.T, b *redisBackend) {
	const callTimeout = 200 * time.Millisecond
	for _, c := range downCases {
		t.Run(c.name, func(t *testing.T) {
			b := b
			if !c.stall && b.mini != nil {
				b = newMiniBackend(t) // closed by the case
			}
			client, down := downClient(t, b, c, true)
			s, err := NewRedisIdempotency(client, RedisIdempotencyOptions{Prefix: b.prefix(t), CallTimeout: callTimeout})
			if err != nil {
				t.Fatal(err)
			}
			idemBegin(t, s, "claimed")
			down()
			checkUnavailable(t, "Begin", `tracking: redis idempotency begin "k": `, func() error {
				_, err := s.Begin(ctx, "k")
				return err
			})
			checkUnavailable(t, "Finish", `tracking: redis idempotency finish "claimed": `, func() error {
				return s.Finish(ctx, "claimed", extension.Answer{Status: 200})
			})
			checkUnavailable(t, "Abandon", `tracking: redis idempotency abandon "claimed": `, func() error {
				return s.Abandon(ctx, "claimed")
			})
		})
	}
}

// Two replicas of an extension, on one Redis: a delivery repeated to both
// runs its handler once and both answer the same; a repeat while the
// first runs is told to come back, and then gets the answer.
func testIdempotencyTwoExtensions(t *testing.T, b *redisBackend) {
	ss := newIdempotency(t, b, 2, RedisIdempotencyOptions{})
	var mu sync.Mutex
	runs := map[string]int{}
	gate := make(chan struct{})
	blocked := make(chan struct{}, 10) // a handler waits at the gate
	var svcs []*service.Service
	for i, s := range ss {
		svc := newServiceReplica(t, "ext-dedup", extension.Serve(extension.WithIdempotencyStore(s)))
		svc.SetRequestParams(service.Params{"mode": {Type: service.ParamStr}})
		svc.OnRequest(func(_ context.Context, r *service.Request) service.Response {
			mu.Lock()
			runs[r.MessageID]++
			n := runs[r.MessageID]
			mu.Unlock()
			switch r.String("mode") {
			case "block":
				blocked <- struct{}{}
				<-gate
			case "retry":
				return service.Retry(errors.New("later"))
			}
			return service.OK(map[string]any{"replica": i, "run": n})
		})
		svcs = append(svcs, svc)
	}
	message := func(key, mode string) []byte {
		raw, err := json.Marshal(map[string]any{
			"version": extension.ProtocolVersion, "idempotency_key": key,
			"request": map[string]any{
				"org":    map[string]any{"oid": "11111111-2222-3333-4444-555555555555", "jwt": "org-jwt"},
				"action": "request", "data": map[string]any{"mode": mode},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	runsOf := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return runs[key]
	}

	raw := message("parent:1", "")
	status0, answer0 := post(t, svcs[0], extension.SignatureHeader, raw)
	status1, answer1 := post(t, svcs[1], extension.SignatureHeader, raw)
	if status0 != http.StatusOK || status1 != http.StatusOK || answer0 != answer1 || runsOf("parent:1") != 1 || !strings.Contains(answer0, `"run":1`) {
		t.Errorf("the handler ran %d times; answers %d %s and %d %s; want once, the same answer twice",
			runsOf("parent:1"), status0, answer0, status1, answer1)
	}

	// A retriable failure is abandoned: the repeat, on the other replica,
	// runs again.
	raw = message("parent:2", "retry")
	post(t, svcs[0], extension.SignatureHeader, raw)
	if status, _ := post(t, svcs[1], extension.SignatureHeader, raw); status != http.StatusInternalServerError || runsOf("parent:2") != 2 {
		t.Errorf("after a retriable failure the repeat answered %d with the handler run %d times; want 500, twice", status, runsOf("parent:2"))
	}

	// A repeat while the first delivery runs.
	raw = message("parent:3", "block")
	var first string
	var wg sync.WaitGroup
	wg.Go(func() { _, first = post(t, svcs[0], extension.SignatureHeader, raw) })
	select {
	case <-blocked:
	case <-time.After(bubble.WaitLimit(t)):
		t.Fatal("the first replica never ran the handler")
	}
	status, busy := post(t, svcs[1], extension.SignatureHeader, raw)
	if status != http.StatusInternalServerError || !strings.Contains(busy, "being handled") || !strings.Contains(busy, `"retriable":true`) {
		t.Errorf("a repeat while the first runs answered %d %s; want 500, retriable", status, busy)
	}
	close(gate)
	wg.Wait()
	status, again := post(t, svcs[1], extension.SignatureHeader, raw)
	if status != http.StatusOK || again != first || runsOf("parent:3") != 1 {
		t.Errorf("the repeat after the first answered %d %s (first: %s), handler run %d times; want the same answer, once", status, again, first, runsOf("parent:3"))
	}
}

// Tests that need no server beyond miniredis.

func TestNewRedisDedupStoresRejectInvalidOptions(t *testing.T) {
	c := newMiniBackend(t).client(t, true)
	deliveries := []struct {
		name   string
		client redis.UniversalClient
		opts   RedisDeliveriesOptions
	}{
		{"no client", nil, RedisDeliveriesOptions{Prefix: "p:"}},
		{"no prefix", c, RedisDeliveriesOptions{}},
		{"negative Window", c, RedisDeliveriesOptions{Prefix: "p:", Window: -time.Second}},
		{"negative MaxAnswer", c, RedisDeliveriesOptions{Prefix: "p:", MaxAnswer: -1}},
		{"negative CallTimeout", c, RedisDeliveriesOptions{Prefix: "p:", CallTimeout: -time.Second}},
	}
	for _, tt := range deliveries {
		t.Run("deliveries/"+tt.name, func(t *testing.T) {
			d, err := NewRedisDeliveries(tt.client, tt.opts)
			if !errors.Is(err, ErrInvalidOptions) || d != nil {
				t.Errorf("NewRedisDeliveries = %v, %v; want nil, ErrInvalidOptions", d, err)
			}
		})
	}
	idem := []struct {
		name   string
		client redis.UniversalClient
		opts   RedisIdempotencyOptions
	}{
		{"no client", nil, RedisIdempotencyOptions{Prefix: "p:"}},
		{"no prefix", c, RedisIdempotencyOptions{}},
		{"negative TTL", c, RedisIdempotencyOptions{Prefix: "p:", TTL: -time.Second}},
		{"negative ClaimTTL", c, RedisIdempotencyOptions{Prefix: "p:", ClaimTTL: -time.Second}},
		{"negative MaxAnswer", c, RedisIdempotencyOptions{Prefix: "p:", MaxAnswer: -1}},
		{"negative CallTimeout", c, RedisIdempotencyOptions{Prefix: "p:", CallTimeout: -time.Second}},
	}
	for _, tt := range idem {
		t.Run("idempotency/"+tt.name, func(t *testing.T) {
			s, err := NewRedisIdempotency(tt.client, tt.opts)
			if !errors.Is(err, ErrInvalidOptions) || s != nil {
				t.Errorf("NewRedisIdempotency = %v, %v; want nil, ErrInvalidOptions", s, err)
			}
		})
	}
}

func TestNewRedisDedupStoresDefaults(t *testing.T) {
	c := newMiniBackend(t).client(t, true)
	d, err := NewRedisDeliveries(c, RedisDeliveriesOptions{Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	if d.window != service.DefaultDedupWindow || d.maxAnswer != service.DefaultDedupBytes/8 || d.s.callTimeout != DefaultCallTimeout || !d.s.ctxHonored {
		t.Errorf("RedisDeliveries defaults: window %v, maxAnswer %d, callTimeout %v", d.window, d.maxAnswer, d.s.callTimeout)
	}
	s, err := NewRedisIdempotency(c, RedisIdempotencyOptions{Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ttl != extension.DefaultIdempotencyTTL || s.claimTTL != DefaultIdempotencyClaimTTL || s.maxAnswer != extension.DefaultIdempotencyMaxEntry || s.s.callTimeout != DefaultCallTimeout {
		t.Errorf("RedisIdempotency defaults: ttl %v, claimTTL %v, maxAnswer %d, callTimeout %v", s.ttl, s.claimTTL, s.maxAnswer, s.s.callTimeout)
	}
	if DefaultIdempotencyClaimTTL < extension.DefaultDeadline {
		t.Errorf("DefaultIdempotencyClaimTTL %v is shorter than the transport's deadline %v", DefaultIdempotencyClaimTTL, extension.DefaultDeadline)
	}
	// Two stores, two owners: neither releases the other's claims.
	d2, _ := NewRedisDeliveries(c, RedisDeliveriesOptions{Prefix: "p:"})
	if d.s.owner == d2.s.owner || len(d.s.owner) != 28 {
		t.Errorf("owners %q and %q: want two distinct c<26 characters>:", d.s.owner, d2.s.owner)
	}
}
