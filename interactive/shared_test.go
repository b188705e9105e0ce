package interactive

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/lcsvc/lcservice/internal/redistest"
	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// forEachRedis runs test against an in-process miniredis and, when
// LCSERVICE_TEST_REDIS_URL is set, against that real server. Each run gets
// a service name of its own, so runs never see each other's keys.
func forEachRedis(t *testing.T, test func(t *testing.T, url, name string, mini *miniredis.Miniredis)) {
	t.Run("miniredis", func(t *testing.T) {
		m, url := redistest.Mini(t)
		test(t, url, uniqueName(), m)
	})
	t.Run("redis-server", func(t *testing.T) {
		url := redistest.ServerURL()
		if url == "" {
			t.Skipf("%s is not set: skipping the run against a real redis-server (make test sets it)", redistest.URLEnv)
		}
		name := uniqueName()
		dropKeysAtCleanup(t, url, name)
		test(t, url, name, nil)
	})
}

// dropKeysAtCleanup deletes, when the test ends, the keys service name
// left in the Redis at url.
func dropKeysAtCleanup(t testing.TB, url, name string) {
	redistest.DropKeysAtCleanup(t, url, redisPrefix(name)+"*")
}

// uniqueName is a service name no other test uses.
func uniqueName() string { return redistest.Name("itest-") }

// surveyOnRequest makes a request handler that tasks testSID with a
// closure continuation, narrated on a new job, and with named handler
// "named" as the fallback.
func surveyOnRequest(tag string, ran *atomic.Int32) func(*Service) {
	return func(is *Service) {
		is.HandleReply("named", func(_ context.Context, r *Reply) service.Response {
			r.Job.Narrate("named handler in "+tag, false)
			return service.OK(map[string]any{"by": "named@" + tag})
		})
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			j := jobs.New()
			j.SetCause("survey")
			_, err := is.Task(ctx, req.Org(), testSID, "os_version", WithJob(j), Via("named"),
				Then(func(_ context.Context, r *Reply) service.Response {
					ran.Add(1)
					r.Job.Narrate("closure in "+tag, false)
					return service.OK(map[string]any{"by": "closure@" + tag})
				}))
			if err != nil {
				return service.FailOrRetry(err)
			}
			return service.OK(nil).WithJobs(j)
		})
	}
}

func narrations(t *testing.T, r result) []string {
	t.Helper()
	var out []string
	for _, j := range r.jobs(t) {
		for _, h := range j.Hist {
			out = append(out, h.Msg)
		}
	}
	return out
}

func TestSharedReplyRunsTheClosureInItsOwner(t *testing.T) {
	forEachRedis(t, func(t *testing.T, url, name string, _ *miniredis.Miniredis) {
		api := stubapi.New(t)
		var ranA, ranB atomic.Int32
		a := newNamedHarness(t, name, api, surveyOnRequest("a", &ranA), WithRedisURL(url))
		b := newNamedHarness(t, name, api, surveyOnRequest("b", &ranB), WithRedisURL(url))
		if r := a.deliver(service.RequestEvent, map[string]any{}); !r.Success {
			t.Fatalf("request = %+v", r)
		}
		task := api.Tasks()[0]
		res := b.deliver(service.Detection, stubDetection(task, "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1}))
		if !res.Success || !strings.Contains(string(res.Data), "closure@a") {
			t.Fatalf("reply delivered to b = %+v; want the response of a's closure", res)
		}
		if got := narrations(t, res); len(got) != 1 || got[0] != "closure in a" {
			t.Errorf("job updates in b's answer = %q; want the closure's narration, made in a", got)
		}
		if ranA.Load() != 1 || ranB.Load() != 0 {
			t.Errorf("closure ran %d times in a, %d in b; want once, in a", ranA.Load(), ranB.Load())
		}
		if sa, sb := a.is.Stats(), b.is.Stats(); sa.RelayServed != 1 || sb.RoutedRelayed != 1 || sb.RoutedNamed != 0 {
			t.Errorf("stats: a served %d relayed replies, b relayed %d and named %d; want 1, 1, 0", sa.RelayServed, sb.RoutedRelayed, sb.RoutedNamed)
		}
		// Answered: a second delivery of the same answer finds nothing pending.
		res = b.deliver(service.Detection, stubDetection(task, "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1}))
		if !strings.Contains(string(res.Data), "named@b") || ranA.Load() != 1 {
			t.Errorf("a late duplicate answer = %s (closure ran %d times); want the named handler, the closure once", res.Data, ranA.Load())
		}
	})
}

func TestSharedReplyGoesToTheNamedHandlerWhenTheOwnerIsGone(t *testing.T) {
	forEachRedis(t, func(t *testing.T, url, name string, _ *miniredis.Miniredis) {
		api := stubapi.New(t)
		var ranA, ranB atomic.Int32
		a := newNamedHarness(t, name, api, surveyOnRequest("a", &ranA), WithRedisURL(url))
		b := newNamedHarness(t, name, api, surveyOnRequest("b", &ranB), WithRedisURL(url))
		a.deliver(service.RequestEvent, map[string]any{})
		if err := a.is.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		task := api.Tasks()[0]
		res := b.deliver(service.Detection, stubDetection(task, "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1}))
		if !res.Success || !strings.Contains(string(res.Data), "named@b") {
			t.Fatalf("reply = %+v; want the named handler's answer from b", res)
		}
		if got := narrations(t, res); len(got) != 1 || got[0] != "named handler in b" {
			t.Errorf("job updates = %q", got)
		}
		if ranA.Load()+ranB.Load() != 0 {
			t.Error("a closure ran, but its owner was stopped")
		}
	})
}

func TestSharedTimeoutRunsOnceInTheClosureOwner(t *testing.T) {
	forEachRedis(t, func(t *testing.T, url, name string, _ *miniredis.Miniredis) {
		api := stubapi.New(t)
		clock := tracking.NewManualClock(time.Now())
		var fired atomic.Int32
		var firedIn atomic.Value
		firing := make(chan struct{}, 10) // the closure ran
		setup := func(tag string) func(*Service) {
			return func(is *Service) {
				is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
					j := jobs.Reopen("00000000-0000-4000-8000-000000000001")
					_, err := is.Task(ctx, req.Org(), testSID, "os_version", WithJob(j), TTL(time.Minute),
						Then(func(context.Context, *Reply) service.Response { return service.OK(nil) }),
						OnTimeout(func(_ context.Context, to *Timeout) {
							fired.Add(1)
							firedIn.Store(tag)
							to.Job.Narrate("timed out in "+tag, true)
							firing <- struct{}{}
						}))
					if err != nil {
						return service.FailOrRetry(err)
					}
					return service.OK(nil)
				})
			}
		}
		a := newNamedHarness(t, name, api, setup("a"), WithRedisURL(url), WithClock(clock))
		b := newNamedHarness(t, name, api, setup("b"), WithRedisURL(url), WithClock(clock))
		a.deliver(service.RequestEvent, map[string]any{})
		// Both replicas sweep on this clock; one claims the task, and the
		// closure runs in a whichever did (relayed there if b did: then
		// after Advance returns).
		for range 5 {
			clock.Advance(30 * time.Second)
		}
		bubble.Await(t, "the timeout", firing)
		clock.Advance(time.Minute)
		if fired.Load() != 1 || firedIn.Load() != "a" {
			t.Fatalf("timeout fired %d times, last in %v; want once, in a", fired.Load(), firedIn.Load())
		}
		// Its job update waits in Redis for a response to the organization,
		// from any replica: a's Shutdown waits for the timeout's work, and
		// leaves b to answer.
		if err := a.is.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		res := b.deliver(service.RequestEvent, map[string]any{})
		found := false
		for _, m := range narrations(t, res) {
			found = found || m == "timed out in a"
		}
		if !found {
			t.Errorf("b's next response = %s; want it to carry the timeout's job update", res.Jobs)
		}
		if q := b.is.Stats().QueuedJobs; q != 0 {
			t.Errorf("QueuedJobs after delivery = %d", q)
		}
	})
}

func TestSharedStoreDownAnswersRetryAndLosesNothing(t *testing.T) {
	m := miniredis.RunT(t)
	api := stubapi.New(t)
	var ran atomic.Int32
	// A pool larger than the dials that fail while Redis is down: go-redis
	// stops dialing for a second or so after as many failures as its pool
	// size, and that is the client's, not the service's, to test.
	a := newNamedHarness(t, uniqueName(), api, surveyOnRequest("a", &ran), WithRedisURL("redis://"+m.Addr()+"/0?pool_size=1000"))
	a.deliver(service.RequestEvent, map[string]any{})
	task := api.Tasks()[0]
	m.Close()
	if r := a.deliver(service.RequestEvent, map[string]any{}); r.Success || !r.Retry {
		t.Errorf("a request whose task cannot be tracked = %+v; want retry", r)
	}
	reply := stubDetection(task, "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1})
	if r := a.deliver(service.Detection, reply); r.Success || !r.Retry {
		t.Errorf("a reply that cannot be resolved = %+v; want retry", r)
	}
	if ran.Load() != 0 {
		t.Fatal("the closure ran while Redis was down")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	// The cloud delivers the reply again: with Redis back, it runs, once.
	if r := a.deliver(service.Detection, reply); !r.Success {
		t.Fatalf("reply after Redis came back = %+v; want success", r)
	}
	if ran.Load() != 1 {
		t.Errorf("the closure ran %d times; want once", ran.Load())
	}
}

func TestNewFailsWhenRedisIsUnreachable(t *testing.T) {
	m := miniredis.RunT(t)
	url := "redis://" + m.Addr()
	m.Close()
	_, err := New(uniqueName(), testSecret, WithRedisURL(url))
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "LC_REDIS_URL") {
		t.Fatalf("New with Redis down = %v; want an error saying Redis is unreachable and where it was configured", err)
	}
	_, err = New(uniqueName(), testSecret, WithRedisURL("http://not-redis"))
	if err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("New with a malformed Redis URL = %v", err)
	}
}

// A replica that hears a relayed reply or timeout and never acts on it
// (it stopped as the message arrived): the replica that relayed it takes
// it back after a while and runs the named handler, once.
func TestSharedRelayLostMessagesAreTakenBack(t *testing.T) {
	forEachRedis(t, func(t *testing.T, url, name string, _ *miniredis.Miniredis) {
		api := stubapi.New(t)
		clock := tracking.NewManualClock(time.Now())
		var named, namedTimeouts atomic.Int32
		timedOut := make(chan struct{}, 10) // the named timeout handler ran
		b := newNamedHarness(t, name, api, func(is *Service) {
			is.HandleReply("named", func(context.Context, *Reply) service.Response {
				named.Add(1)
				return service.OK(map[string]any{"by": "named"})
			})
			is.HandleTimeout("named", func(context.Context, *Timeout) {
				namedTimeouts.Add(1)
				timedOut <- struct{}{}
			})
		}, WithRedisURL(url), WithClock(clock))

		// The ghost listens on its channel and does nothing.
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		ghostClient := redis.NewClient(opts)
		defer ghostClient.Close()
		ghost := ghostClient.Subscribe(t.Context(), redisPrefix(name)+"replica:ghost")
		defer ghost.Close()
		if _, err := ghost.Receive(t.Context()); err != nil {
			t.Fatal(err)
		}
		heard := ghost.Channel()

		add := func(id string, ttl time.Duration) {
			t.Helper()
			err := b.is.shared.shared.Add(t.Context(), tracking.Entry[record]{ID: id, Expires: clock.Now().Add(ttl),
				Value: record{Handler: "named", OID: testOID, SID: testSID, Command: "os_version", Owner: "ghost", HasThen: true, HasOnTimeout: true}})
			if err != nil {
				t.Fatal(err)
			}
		}
		// A reply: relayed to the ghost, taken back, named handler.
		codec, err := token.NewCodec(name, []byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.New()
		add(id.String(), time.Hour)
		inv, err := codec.Encode(token.Token{ID: id, Handler: "named", Expiry: clock.Now().Add(time.Hour)}, testOID, testSID)
		if err != nil {
			t.Fatal(err)
		}
		res := b.deliver(service.Detection, stubDetection(stubapi.Task{SID: testSID, InvestigationID: inv}, "OS_VERSION_REP", map[string]any{}))
		if !res.Success || !strings.Contains(string(res.Data), `"named"`) || named.Load() != 1 {
			t.Fatalf("a reply whose owner never took it = %+v (named handler ran %d times); want the named handler's answer, once", res, named.Load())
		}
		if m := <-heard; !strings.Contains(m.Payload, `"k":"reply"`) {
			t.Errorf("the ghost heard %s; want the relayed reply", m.Payload)
		}
		// A timeout: relayed to the ghost by b's sweep, taken back.
		add(uuid.NewString(), time.Minute)
		clock.Advance(2 * time.Minute)
		// b takes it back relayClaimAfter after relaying it.
		bubble.Await(t, "the timeout to be taken back", timedOut)
		if m := <-heard; !strings.Contains(m.Payload, `"k":"timeout"`) {
			t.Errorf("the ghost heard %s; want the relayed timeout", m.Payload)
		}
		clock.Advance(time.Minute)
		if n := namedTimeouts.Load(); n != 1 {
			t.Errorf("the named timeout handler ran %d times, want once", n)
		}
	})
}
