package interactive_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/lcsvc/lcservice/internal/redistest"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// The replica tests run several processes of one service on one Redis,
// with lctest delivering webhooks across them. They need a real Redis
// server (LCSERVICE_TEST_REDIS_URL, set by make test and CI); without one
// they run on miniredis, in process.

// sharedRedis returns the URL of the Redis the replica tests use, and a
// service name whose keys no other run shares (deleted when the test ends
// on a real server).
func sharedRedis(t *testing.T) (url, svcName string) {
	t.Helper()
	svcName = redistest.Name("replicas-")
	if url = redistest.ServerURL(); url == "" {
		t.Logf("%s is not set: running on miniredis instead of a real redis-server", redistest.URLEnv)
		_, url = redistest.Mini(t)
		return url, svcName
	}
	redistest.DropKeysAtCleanup(t, url, "lcservice:{"+svcName+"}:*")
	return url, svcName
}

// fleet is the record of what every replica of a service did, by task.
type fleet struct {
	mu       sync.Mutex
	tasked   map[interactive.TaskID]string // task -> sensor
	resolved map[interactive.TaskID][]string
	timedOut map[interactive.TaskID][]string
	noted    chan struct{} // closed, and replaced, by each note
	requests atomic.Int64  // request handler runs
}

func newFleet() *fleet {
	return &fleet{tasked: map[interactive.TaskID]string{}, resolved: map[interactive.TaskID][]string{}, timedOut: map[interactive.TaskID][]string{},
		noted: make(chan struct{})}
}

func (f *fleet) note(m map[interactive.TaskID][]string, id interactive.TaskID, what string) {
	f.mu.Lock()
	m[id] = append(m[id], what)
	close(f.noted)
	f.noted = make(chan struct{})
	f.mu.Unlock()
}

// awaitTimedOut waits until n tasks have timed out: a timeout another
// replica's sweep relays to the one holding its closure runs there after
// the sweep.
func (f *fleet) awaitTimedOut(t *testing.T, n int) {
	t.Helper()
	limit := time.After(bubble.WaitLimit(t))
	for {
		f.mu.Lock()
		got, noted := len(f.timedOut), f.noted
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-noted:
		case <-limit:
			t.Fatalf("%d tasks timed out, want %d", got, n)
		}
	}
}

// replica starts one process of the survey service: a request names a
// sensor; the task to it continues in a closure (Then, OnTimeout) or in
// the named handlers, which every replica registers.
func (f *fleet) replica(t *testing.T, tag, svcName, apiURL, redisURL string, clock tracking.Clock, logs *lockedBuffer, svcOpts ...service.Option) *interactive.Service {
	t.Helper()
	client := tasking.NewClient(tasking.WithBaseURL(apiURL), tasking.WithRetry(4, time.Millisecond, 5*time.Millisecond))
	is, err := interactive.New(svcName, secret, interactive.WithClient(client), interactive.WithRedisURL(redisURL),
		interactive.WithClock(clock), interactive.WithDefaultTTL(time.Minute),
		interactive.WithServiceOptions(append([]service.Option{service.WithLogOutput(logs, logs)}, svcOpts...)...))
	if err != nil {
		t.Fatal(err)
	}
	answered := func(how string) interactive.ReplyHandler {
		return func(_ context.Context, r *interactive.Reply) service.Response {
			f.note(f.resolved, r.TaskID, how+"@"+tag)
			r.Job.Narrate("answered", false)
			r.Job.Close()
			return service.OK(nil)
		}
	}
	timedOut := func(how string) interactive.TimeoutHandler {
		return func(_ context.Context, to *interactive.Timeout) {
			f.note(f.timedOut, to.TaskID, how+"@"+tag)
			to.Job.Narrate("timed out", true)
			to.Job.Close()
		}
	}
	is.HandleReply("survey", answered("named"))
	is.HandleTimeout("survey", timedOut("named"))
	is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		f.requests.Add(1)
		var p struct {
			SID     string `json:"sid"`
			Closure bool   `json:"closure"`
		}
		if err := req.Decode(&p); err != nil {
			return service.Fail(err)
		}
		j := jobs.New()
		j.SetCause("survey of " + p.SID)
		opts := []interactive.TaskOption{interactive.Via("survey"), interactive.WithJob(j)}
		if p.Closure {
			opts = append(opts, interactive.Then(answered("closure")), interactive.OnTimeout(timedOut("closure")))
		}
		id, err := is.Task(ctx, req.Org(), p.SID, "os_version", opts...)
		if err != nil {
			return service.FailOrRetry(err)
		}
		f.mu.Lock()
		f.tasked[id] = p.SID
		f.mu.Unlock()
		return service.OK(nil).WithJobs(j)
	})
	return is
}

// Three replicas on one Redis, webhooks delivered at random, 1,000 tasks
// of which 10 % go to an offline sensor and never answer; replica 1 is
// stopped and restarted mid-run. Every answered task is resolved exactly
// once and never times out; every unanswered one times out exactly once,
// its job closed once.
func TestReplicasResolveAndTimeOutEachTaskOnce(t *testing.T) {
	redisURL, svcName := sharedRedis(t)
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	var online []*lctest.Sensor
	for i := range 9 {
		online = append(online, org.AddSensor(lctest.SensorConfig{Hostname: fmt.Sprint("host-", i), Platform: lctest.Linux}))
	}
	offline := org.AddSensor(lctest.SensorConfig{Hostname: "gone", Platform: lctest.Windows, Offline: true})
	clock := tracking.NewManualClock(time.Now())
	logs := &lockedBuffer{}
	f := newFleet()
	var procs []*interactive.Service
	var handlers []http.Handler
	for i := range 3 {
		is := f.replica(t, fmt.Sprint("r", i), svcName, cloud.URL(), redisURL, clock, logs)
		procs = append(procs, is)
		handlers = append(handlers, is)
	}
	var mu sync.Mutex // guards procs
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, is := range procs {
			_ = is.Shutdown(context.Background())
		}
	})
	reg, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: svcName, Secret: secret, Replicas: handlers, Balance: lctest.Random, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := reg.Install(t.Context(), org); err != nil || !res.Success {
		t.Fatalf("install: %+v %v", res, err)
	}

	const tasks = 1000
	var next atomic.Int64
	var failed atomic.Int64
	send := func() {
		for {
			i := next.Add(1) - 1
			if i >= tasks {
				return
			}
			sid := online[i%9].SID
			if i%10 == 0 {
				sid = offline.SID
			}
			res, err := reg.Request(t.Context(), org, map[string]any{"sid": sid, "closure": i%2 == 1})
			if err != nil || !res.Success {
				failed.Add(1)
				t.Errorf("request %d: %+v %v", i, res, err)
			}
			if i == tasks/2 {
				// Replica 1 exits mid-run and a new process takes its place.
				if err := reg.StopReplica(1); err != nil {
					t.Error(err)
				}
				mu.Lock()
				_ = procs[1].Shutdown(context.Background())
				restarted := f.replica(t, "r1'", svcName, cloud.URL(), redisURL, clock, logs)
				procs = append(procs, restarted)
				mu.Unlock()
				if err := reg.StartReplica(1, restarted); err != nil {
					t.Error(err)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(send)
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed; logs:\n%s", failed.Load(), logs.String())
	}
	if err := cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Every response, and every look for queued job updates, is done.
	quiet := time.Now()

	f.mu.Lock()
	if len(f.tasked) != tasks {
		t.Fatalf("%d distinct tasks sent, want %d", len(f.tasked), tasks)
	}
	f.mu.Unlock()
	// Past every TTL: the replicas' sweeps claim the unanswered tasks.
	clock.Advance(time.Minute + time.Second)
	f.awaitTimedOut(t, tasks/10)
	clock.Advance(2 * time.Minute) // and nothing more fires

	f.mu.Lock()
	var unanswered []interactive.TaskID
	for id, sid := range f.tasked {
		res, to := f.resolved[id], f.timedOut[id]
		if sid == offline.SID {
			unanswered = append(unanswered, id)
			if len(res) != 0 || len(to) != 1 {
				t.Errorf("unanswered task %s: resolved %v, timed out %v; want one timeout", id, res, to)
			}
			continue
		}
		if len(res) != 1 || len(to) != 0 {
			t.Errorf("answered task %s: resolved %v, timed out %v; want resolved once, no timeout", id, res, to)
		}
	}
	f.mu.Unlock()
	if len(unanswered) != tasks/10 {
		t.Errorf("%d tasks went to the offline sensor, want %d", len(unanswered), tasks/10)
	}
	relayed := int64(0)
	for _, is := range procs {
		relayed += is.Stats().RoutedRelayed
	}
	if relayed == 0 {
		t.Error("no reply reached a replica other than its closure's owner: the run did not exercise the relay")
	}

	// The timeouts' job updates ride the next response to the org: a
	// replica that found none queued looks in Redis again TakeEvery later
	// (real time), so whichever replica the response comes from, it
	// carries them all once that has passed since the last look.
	time.Sleep(time.Until(quiet.Add(interactive.TakeEvery))) // that interval passing is the subject
	if _, err := reg.Tick(t.Context(), org, "org_per_1h"); err != nil {
		t.Fatal(err)
	}
	if q := procs[0].Stats().QueuedJobs; q != 0 {
		t.Errorf("%d job updates still queued after the next response", q)
	}
	closed := 0
	for _, j := range reg.Jobs() {
		n := 0
		for _, h := range j.Hist {
			if h.Msg == "timed out" {
				n++
			}
		}
		if strings.HasSuffix(j.Cause, offline.SID) {
			if n != 1 || j.End == 0 {
				t.Errorf("job of an unanswered task: %d timeout narrations, end %d; want one, closed", n, j.End)
			}
			closed++
		} else if n != 0 {
			t.Errorf("job of an answered task narrates a timeout: %+v", j)
		}
	}
	if closed != tasks/10 {
		t.Errorf("%d jobs of unanswered tasks, want %d", closed, tasks/10)
	}
}

// pair is two replicas, a and b, of a survey service on one Redis,
// installed in an organization with one sensor, round robin from a.
type pair struct {
	cloud *lctest.Cloud
	org   *lctest.Org
	host  *lctest.Sensor
	fleet *fleet
	a, b  *interactive.Service
	reg   *lctest.Service
}

func newPair(t *testing.T, offline bool) *pair {
	t.Helper()
	redisURL, svcName := sharedRedis(t)
	p := &pair{cloud: lctest.New(t), fleet: newFleet()}
	p.org = p.cloud.NewOrg("acme")
	p.host = p.org.AddSensor(lctest.SensorConfig{Hostname: "host-1", Platform: lctest.Linux, Offline: offline})
	clock := tracking.NewManualClock(time.Now())
	logs := &lockedBuffer{}
	p.a = p.fleet.replica(t, "a", svcName, p.cloud.URL(), redisURL, clock, logs)
	p.b = p.fleet.replica(t, "b", svcName, p.cloud.URL(), redisURL, clock, logs)
	t.Cleanup(func() { _ = p.a.Shutdown(context.Background()); _ = p.b.Shutdown(context.Background()) })
	reg, err := p.cloud.Register(t.Context(), lctest.ServiceConfig{Name: svcName, Secret: secret, Replicas: []http.Handler{p.a, p.b}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Install(t.Context(), p.org); err != nil {
		t.Fatal(err)
	}
	p.reg = reg
	return p
}

// A message delivered again, with the same mid, to another replica is
// answered with the first answer: the handler runs once.
func TestReplicasRunARedeliveredMessageOnce(t *testing.T) {
	// Offline: no answer comes back to take a turn of the round robin.
	p := newPair(t, true)
	cloud, org, host, f, reg := p.cloud, p.org, p.host, p.fleet, p.reg
	first, err := reg.Request(t.Context(), org, map[string]any{"sid": host.SID})
	if err != nil || !first.Success {
		t.Fatalf("request: %+v %v", first, err)
	}
	xs := reg.Exchanges()
	x := xs[len(xs)-1]
	again, err := reg.Redeliver(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	xs = reg.Exchanges()
	if y := xs[len(xs)-1]; y.MID != x.MID || y.Replica == x.Replica {
		t.Fatalf("redelivery went to replica %d (mid %s), first to %d (mid %s); want the same mid on another replica", y.Replica, y.MID, x.Replica, x.MID)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the request handler ran %d times for one message delivered to two replicas, want 1", n)
	}
	if len(again.Jobs) != len(first.Jobs) || len(again.Jobs) != 1 || again.Jobs[0].ID != first.Jobs[0].ID {
		t.Errorf("the redelivery's answer has jobs %+v, the first %+v; want the same answer", again.Jobs, first.Jobs)
	}
	if err := cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tasks := org.Tasks(); len(tasks) != 1 {
		t.Errorf("%d tasks sent, want 1", len(tasks))
	}
}

// A closure task's answer delivered to a replica that does not hold the
// closure runs the closure in the replica that does, and the job update
// it narrates comes back in the answer to that webhook.
func TestReplicasRelayAClosureReplyToItsOwner(t *testing.T) {
	// Round robin: health → a, install → b, the request → a, the
	// detection carrying the answer → b.
	p := newPair(t, false)
	cloud, org, host, f, a, b, reg := p.cloud, p.org, p.host, p.fleet, p.a, p.b, p.reg
	if res, err := reg.Request(t.Context(), org, map[string]any{"sid": host.SID, "closure": true}); err != nil || !res.Success {
		t.Fatalf("request: %+v %v", res, err)
	}
	if err := cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	var reply *lctest.Exchange
	for _, x := range reg.Exchanges() {
		if x.EType == "detection" {
			reply = &x
		}
	}
	if reply == nil || reply.Replica != 1 {
		t.Fatalf("the answer's detection went to %+v; want replica 1 (b)", reply)
	}
	f.mu.Lock()
	var how []string
	for _, v := range f.resolved {
		how = append(how, v...)
	}
	f.mu.Unlock()
	if len(how) != 1 || how[0] != "closure@a" {
		t.Fatalf("resolved by %v; want the closure, in a", how)
	}
	if len(reply.Response.Jobs) != 1 || len(reply.Response.Jobs[0].Hist) != 1 || reply.Response.Jobs[0].Hist[0].Msg != "answered" || reply.Response.Jobs[0].End == 0 {
		t.Errorf("b's answer carries jobs %+v; want the closure's narration and close", reply.Response.Jobs)
	}
	if a.Stats().RelayServed != 1 || b.Stats().RoutedRelayed != 1 {
		t.Errorf("a served %d relayed replies, b relayed %d; want 1 and 1", a.Stats().RelayServed, b.Stats().RoutedRelayed)
	}
}

// Served as an extension, replicas sharing Redis relay a closure's reply
// to its owner, time an unanswered task out once, and set no timeout
// continuations: the shared store keeps the timers.
func TestReplicasAsAnExtension(t *testing.T) {
	redisURL, svcName := sharedRedis(t)
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "host-1", Platform: lctest.Linux})
	gone := org.AddSensor(lctest.SensorConfig{Hostname: "gone", Platform: lctest.Linux, Offline: true})
	clock := tracking.NewManualClock(time.Now())
	logs := &lockedBuffer{}
	f := newFleet()
	a := f.replica(t, "a", svcName, cloud.URL(), redisURL, clock, logs, extension.Serve())
	b := f.replica(t, "b", svcName, cloud.URL(), redisURL, clock, logs, extension.Serve())
	t.Cleanup(func() { _ = a.Shutdown(context.Background()); _ = b.Shutdown(context.Background()) })
	reg, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: svcName, Secret: secret, Replicas: []http.Handler{a, b}, Protocol: lctest.Extension})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := reg.Install(t.Context(), org); err != nil || !res.Success {
		t.Fatalf("subscribe: %+v %v", res, err)
	}
	for _, sid := range []string{host.SID, gone.SID} {
		if res, err := reg.Request(t.Context(), org, map[string]any{"sid": sid, "closure": true}); err != nil || !res.Success {
			t.Fatalf("request: %+v %v", res, err)
		}
		if err := cloud.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := cloud.PendingContinuations(); n != 0 {
		t.Errorf("%d continuations pending; want none: the shared store times tasks out", n)
	}
	clock.Advance(time.Minute + time.Second) // past the TTL
	f.awaitTimedOut(t, 1)
	clock.Advance(2 * time.Minute) // and nothing more fires
	f.mu.Lock()
	defer f.mu.Unlock()
	var resolved, timedOut []string
	for _, v := range f.resolved {
		resolved = append(resolved, v...)
	}
	for _, v := range f.timedOut {
		timedOut = append(timedOut, v...)
	}
	if len(resolved) != 1 || len(timedOut) != 1 {
		t.Fatalf("resolved %v, timed out %v; want one each", resolved, timedOut)
	}
	// The request went to the replica after subscribe's; its closure ran
	// there, whichever replica the answer reached.
	// Each closure ran in the replica its request reached (the first
	// request's task answered, the second's timed out).
	var owners []string
	for _, x := range reg.Exchanges() {
		if x.EType == "request" && x.Action != interactive.ReplyAction {
			owners = append(owners, []string{"closure@a", "closure@b"}[x.Replica])
		}
	}
	if len(owners) != 2 || resolved[0] != owners[0] || timedOut[0] != owners[1] {
		t.Errorf("resolved by %v, timed out by %v; want the closures, in the replicas the requests reached (%v)", resolved, timedOut, owners)
	}
	if a.Stats().RoutedRelayed+b.Stats().RoutedRelayed != 1 {
		t.Errorf("relayed %d + %d replies; want the answer relayed once (round robin sends it to the other replica)", a.Stats().RoutedRelayed, b.Stats().RoutedRelayed)
	}
}
