package extension_test

// The interactive loop served as an extension: the replicant rule, tasks,
// replies delivered as the reply action, and timeouts carried by
// continuations — against a stub of the REST API.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// survey is an interactive service like examples/packages: a request with a
// sid tasks os_packages; the closure closes the job; the timeout is counted.
type survey struct {
	*interactive.Service
	c        *cloud
	replies  atomic.Int32
	timeouts atomic.Int32
	named    atomic.Int32
}

func newSurvey(t *testing.T, api *stubapi.API, clock tracking.Clock, ttl time.Duration) *survey {
	t.Helper()
	logs := &lockedBuffer{}
	is, err := interactive.New("itest", testSecret,
		interactive.WithClient(fastClient(api)),
		interactive.WithClock(clock),
		interactive.WithServiceOptions(extension.Serve(), service.WithLogOutput(logs, logs)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = is.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("service logs:\n%s", logs.String())
		}
	})
	s := &survey{Service: is, c: newCloud(t, is)}
	is.SetRequestParams(service.Params{"sid": {Type: service.ParamSID, Required: true}})
	is.HandleReply("packages", func(ctx context.Context, r *interactive.Reply) service.Response {
		s.replies.Add(1)
		return service.OK(map[string]string{"via": "named"})
	})
	is.HandleTimeout("packages", func(ctx context.Context, to *interactive.Timeout) {
		s.named.Add(1)
		to.Job.Narrate(fmt.Sprintf("%s did not answer %s", to.SID, to.Command), true)
		to.Job.Close()
	})
	is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		job := jobs.New()
		job.SetCause("package survey")
		_, err := is.Task(ctx, req.Org(), req.SID(), "os_packages",
			interactive.WithJob(job), interactive.TTL(ttl), interactive.Via("packages"),
			interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
				s.replies.Add(1)
				r.Job.Narrate("answered by "+r.Hostname, false)
				r.Job.Close()
				return service.OK(map[string]string{"via": "closure"})
			}),
			interactive.OnTimeout(func(ctx context.Context, to *interactive.Timeout) { s.timeouts.Add(1) }))
		if err != nil {
			return service.Fail(err)
		}
		return service.OK(map[string]string{"job_id": job.ID()}).WithJobs(job)
	})
	return s
}

// replyData is what the replicant rule's transform passes for a sensor event.
func replyData(inv, eventType string, event any) map[string]any {
	return map[string]any{
		"event": event,
		"routing": map[string]any{
			"oid": testOID, "sid": testSID, "hostname": "web-1", "plat": 0x20000000, "event_type": eventType,
			"event_time": time.Now().UnixMilli(), "investigation_id": inv,
		},
	}
}

type timeoutCont struct {
	Token   string `json:"token"`
	Hop     int    `json:"hop"`
	SID     string `json:"sid"`
	Command string `json:"command"`
}

func (a answer) timeoutContinuation(t *testing.T) (timeoutCont, uint64) {
	t.Helper()
	if len(a.Continuations) != 1 || a.Continuations[0].Action != interactive.TimeoutAction {
		t.Fatalf("want one %s continuation: %s", interactive.TimeoutAction, a.Raw)
	}
	var st timeoutCont
	if err := json.Unmarshal(a.Continuations[0].State, &st); err != nil {
		t.Fatal(err)
	}
	return st, a.Continuations[0].InDelaySec
}

func jobsOf(t *testing.T, a answer) []struct {
	ID   string `json:"id"`
	End  int64  `json:"end"`
	Hist []struct {
		Msg string `json:"msg"`
	} `json:"hist"`
} {
	t.Helper()
	var d struct {
		Jobs []struct {
			ID   string `json:"id"`
			End  int64  `json:"end"`
			Hist []struct {
				Msg string `json:"msg"`
			} `json:"hist"`
		} `json:"jobs"`
	}
	if len(a.Data) > 0 {
		a.dataField(t, &d)
	}
	return d.Jobs
}

func TestInteractiveRuleLifecycle(t *testing.T) {
	api := stubapi.New(t)
	s := newSurvey(t, api, tracking.NewManualClock(time.Now()), time.Minute)
	if a := s.c.event("subscribe"); a.Status != 200 {
		t.Fatalf("subscribe: %d %s", a.Status, a.Raw)
	}
	// The replicant rule only: no detection subscription, no hourly tick.
	if names := api.RuleNames(); len(names) != 1 || names[0] != "managed/svc-itest-ex" {
		t.Fatalf("rules %v", names)
	}
	rule, _ := api.Rule("managed", "svc-itest-ex")
	detect, respond := rule.Detect, rule.Respond
	if !sameJSON(t, detect, `{"op":"and","rules":[
		{"op":"starts with","path":"routing/investigation_id","value":"svc-itest-ex/"},
		{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`) {
		t.Errorf("detect %s", detect)
	}
	if !sameJSON(t, respond, `[{"action":"extension request","extension name":"itest","extension action":"__lcsvc_reply",
		"extension request":{"event":"event","routing":"routing"}}]`) {
		t.Errorf("respond %s", respond)
	}
	var schema extension.Schema
	s.c.send(map[string]any{"schema_request": map[string]any{}}).dataField(t, &schema)
	for _, a := range []string{interactive.ReplyAction, interactive.TimeoutAction} {
		if rs, ok := schema.RequestSchema[a]; !ok || rs.IsUserFacing {
			t.Errorf("schema lacks internal action %s", a)
		}
	}
	if _, ok := schema.RequestSchema[extension.TickActionPrefix+"org_per_1h"]; ok {
		t.Error("an hourly tick is scheduled on extensions")
	}

	// update stores it again.
	api.DeleteRule("managed", "svc-itest-ex")
	if a := s.c.event("update"); a.Status != 200 || len(api.RuleNames()) != 1 {
		t.Fatalf("update: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
	}
	// A rule that cannot be stored is answered retriably.
	api.FailNextRules(500, 500, 500, 500)
	if a := s.c.event("update"); a.Status != 500 || !a.retriable() || !strings.Contains(a.Error, "svc-itest-ex") {
		t.Errorf("failed update: %d %s", a.Status, a.Raw)
	}
	if a := s.c.event("unsubscribe"); a.Status != 200 || len(api.RuleNames()) != 0 {
		t.Errorf("unsubscribe: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
	}
}

func TestInteractiveTaskReplyAndTamper(t *testing.T) {
	api := stubapi.New(t)
	s := newSurvey(t, api, tracking.NewManualClock(time.Now()), 2*time.Minute)
	a := s.c.request("request", map[string]any{"sid": testSID})
	if a.Status != 200 || len(jobsOf(t, a)) != 1 {
		t.Fatalf("request: %d %s", a.Status, a.Raw)
	}
	tasks := api.Tasks()
	if len(tasks) != 1 || tasks[0].SID != testSID || tasks[0].Commands[0] != "os_packages" || tasks[0].Auth != "bearer "+testJWT ||
		!strings.HasPrefix(tasks[0].InvestigationID, "svc-itest-ex/") {
		t.Fatalf("tasks %+v", tasks)
	}
	inv := tasks[0].InvestigationID
	st, delay := a.timeoutContinuation(t)
	if st.Token != inv || st.Hop != 1 || st.SID != testSID || st.Command != "os_packages" || delay < 120 || delay > 121 {
		t.Errorf("continuation %+v in %d s", st, delay)
	}

	// The receipt is not an answer.
	if a := s.c.request(interactive.ReplyAction, replyData(inv, "CLOUD_NOTIFICATION", map[string]any{})); a.Status != 200 || s.replies.Load() != 0 {
		t.Fatalf("receipt: %d %s", a.Status, a.Raw)
	}
	// A tampered token is not routed.
	tampered := []byte(inv)
	if tampered[len(tampered)-3] == 'A' {
		tampered[len(tampered)-3] = 'B'
	} else {
		tampered[len(tampered)-3] = 'A'
	}
	for _, bad := range []map[string]any{
		replyData(string(tampered), "OS_PACKAGES_REP", map[string]any{}),
		replyData("svc-other-ex/"+inv[len("svc-itest-ex/"):], "OS_PACKAGES_REP", map[string]any{}),
		{"event": map[string]any{}},
	} {
		if a := s.c.request(interactive.ReplyAction, bad); a.Status != 200 || len(jobsOf(t, a)) != 0 {
			t.Errorf("bad reply answered %d %s", a.Status, a.Raw)
		}
	}
	if s.replies.Load() != 0 || s.Stats().Refused != 3 {
		t.Fatalf("bad replies routed: replies %d, stats %+v", s.replies.Load(), s.Stats())
	}
	// The genuine answer runs the continuation once, and closes the job.
	a = s.c.request(interactive.ReplyAction, replyData(inv, "OS_PACKAGES_REP", map[string]any{"PACKAGES": []any{}}))
	if j := jobsOf(t, a); a.Status != 200 || s.replies.Load() != 1 || len(j) != 1 || j[0].End == 0 || !strings.Contains(string(a.Data), `"via":"closure"`) {
		t.Fatalf("reply: %d %s (replies %d)", a.Status, a.Raw, s.replies.Load())
	}
	// The platform repeating that delivery does not run it again.
	key := "reply-key"
	first := s.c.requestKeyed(key, interactive.ReplyAction, replyData(inv, "OS_PACKAGES_REP", map[string]any{}))
	again := s.c.requestKeyed(key, interactive.ReplyAction, replyData(inv, "OS_PACKAGES_REP", map[string]any{}))
	if first.Raw != again.Raw || s.replies.Load() != 2 || !strings.Contains(first.Raw, `"via":"named"`) {
		t.Errorf("second answer (named handler, once): %s / %s, replies %d", first.Raw, again.Raw, s.replies.Load())
	}
	// The routing may also arrive as JSON text, as a template would make it.
	s.c.request("request", map[string]any{"sid": testSID})
	inv2 := api.Tasks()[1].InvestigationID
	d := replyData(inv2, "OS_PACKAGES_REP", map[string]any{})
	r, _ := json.Marshal(d["routing"])
	d["routing"] = string(r)
	if a := s.c.request(interactive.ReplyAction, d); a.Status != 200 || !strings.Contains(a.Raw, `"via":"closure"`) {
		t.Errorf("routing as text: %s", a.Raw)
	}
	if st := s.Stats(); st.RoutedClosure != 2 || st.RoutedNamed != 1 || st.TimedOut != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInteractiveTimeoutFiresOnceInTheSender(t *testing.T) {
	api := stubapi.New(t)
	clock := tracking.NewManualClock(time.Now())
	s := newSurvey(t, api, clock, 2*time.Minute)
	a := s.c.request("request", map[string]any{"sid": testSID})
	st, delay := a.timeoutContinuation(t)
	// The platform would deliver the continuation after delay; the process's
	// own timer fires first, then the continuation finds the task ended.
	clock.Advance(time.Duration(delay)*time.Second + time.Second)
	if s.timeouts.Load() != 1 {
		t.Fatalf("local timeout fired %d times", s.timeouts.Load())
	}
	c := s.c.request(interactive.TimeoutAction, st)
	if c.Status != 200 || len(c.Continuations) != 0 || s.timeouts.Load() != 1 || s.named.Load() != 0 {
		t.Errorf("continuation after the local timeout: %d %s, timeouts %d, named %d", c.Status, c.Raw, s.timeouts.Load(), s.named.Load())
	}
	if got := s.Stats().TimedOut; got != 1 {
		t.Errorf("TimedOut %d", got)
	}
}

func TestInteractiveContinuationLeavesTheTimeoutToItsSender(t *testing.T) {
	api := stubapi.New(t)
	clock := &unsweptClock{now: time.Now()}
	s := newSurvey(t, api, clock, 2*time.Minute)
	a := s.c.request("request", map[string]any{"sid": testSID})
	st, _ := a.timeoutContinuation(t)
	// Delivered early, the continuation arms the next step.
	if c := s.c.request(interactive.TimeoutAction, st); len(c.Continuations) != 1 || s.timeouts.Load() != 0 {
		t.Fatalf("early continuation: %s", c.Raw)
	}
	// Past the task's expiry but before this process's own timer has run,
	// the continuation leaves the timeout to that timer, which holds the
	// closure.
	clock.set(clock.Now().Add(2*time.Minute + 2*time.Second))
	c := s.c.request(interactive.TimeoutAction, st)
	if c.Status != 200 || len(c.Continuations) != 0 || s.timeouts.Load() != 0 || s.named.Load() != 0 {
		t.Fatalf("expired continuation: %d %s, timeouts %d, named %d", c.Status, c.Raw, s.timeouts.Load(), s.named.Load())
	}
}

func TestInteractiveContinuationFiresAnEvictedTask(t *testing.T) {
	api := stubapi.New(t)
	clock := tracking.NewManualClock(time.Now())
	logs := &lockedBuffer{}
	is, err := interactive.New("itest", testSecret, interactive.WithClient(fastClient(api)), interactive.WithClock(clock), interactive.WithCapacity(1),
		interactive.WithServiceOptions(extension.Serve(), service.WithLogOutput(logs, logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer is.Shutdown(context.Background())
	var closures, named atomic.Int32
	is.HandleReply("h", func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
	is.HandleTimeout("h", func(context.Context, *interactive.Timeout) { named.Add(1) })
	is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		_, err := is.Task(ctx, req.Org(), testSID, "os_version", interactive.TTL(time.Minute), interactive.Via("h"),
			interactive.OnTimeout(func(context.Context, *interactive.Timeout) { closures.Add(1) }))
		if err != nil {
			return service.Fail(err)
		}
		return service.OK(nil)
	})
	c := newCloud(t, is)
	st, _ := c.request("request", map[string]any{}).timeoutContinuation(t)
	c.request("request", map[string]any{}) // evicts the first task: capacity 1
	if is.Stats().Evicted != 1 {
		t.Fatalf("stats %+v", is.Stats())
	}
	clock.Advance(time.Minute + 2*time.Second) // the second task times out here
	if closures.Load() != 1 || named.Load() != 0 {
		t.Fatalf("closures %d named %d", closures.Load(), named.Load())
	}
	c.request(interactive.TimeoutAction, st) // the first one's continuation
	c.request(interactive.TimeoutAction, st)
	if closures.Load() != 1 || named.Load() != 1 {
		t.Errorf("closures %d named %d; the evicted task's timeout should fire once, by name", closures.Load(), named.Load())
	}
}

// unsweptClock is a clock whose timers never fire: time moves only with
// set, and the pending store never sweeps, as when the continuation
// arrives before the process's own timer.
type unsweptClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *unsweptClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *unsweptClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *unsweptClock) AfterFunc(time.Duration, func()) func() bool {
	return func() bool { return true }
}

func TestInteractiveTimeoutAfterRestart(t *testing.T) {
	api := stubapi.New(t)
	start := time.Now()
	sender := newSurvey(t, api, tracking.NewManualClock(start), 10*time.Minute)
	a := sender.c.request("request", map[string]any{"sid": testSID})
	jobID := jobsOf(t, a)[0].ID
	st, delay := a.timeoutContinuation(t)
	if delay != 300 {
		t.Errorf("first step %d s, want the platform's 300 s", delay)
	}
	// The sender is gone; a new process (same name and secret) receives the
	// continuations the platform kept.
	clock := tracking.NewManualClock(start)
	restarted := newSurvey(t, api, clock, 10*time.Minute)
	clock.Advance(300 * time.Second)
	c := restarted.c.request(interactive.TimeoutAction, st)
	st2, delay2 := c.timeoutContinuation(t)
	if st2.Token != st.Token || st2.Hop != 2 || delay2 != 300 && delay2 != 301 || restarted.named.Load() != 0 {
		t.Fatalf("second step: %+v in %d s", st2, delay2)
	}
	clock.Advance(time.Duration(delay2) * time.Second)
	c = restarted.c.request(interactive.TimeoutAction, st2)
	st3, delay3 := c.timeoutContinuation(t)
	if st3.Hop != 3 || delay3 < 1 || delay3 > 2 {
		t.Fatalf("third step: %+v in %d s", st3, delay3)
	}
	clock.Advance(time.Duration(delay3)*time.Second + time.Second)
	c = restarted.c.request(interactive.TimeoutAction, st3)
	if c.Status != 200 || len(c.Continuations) != 0 || restarted.named.Load() != 1 || restarted.timeouts.Load() != 0 {
		t.Fatalf("expired: %d %s, named %d", c.Status, c.Raw, restarted.named.Load())
	}
	j := jobsOf(t, c)
	if len(j) != 1 || j[0].ID != jobID || j[0].End == 0 || !strings.Contains(j[0].Hist[0].Msg, "did not answer os_packages") {
		t.Errorf("the timeout's job update: %s", c.Raw)
	}
	// Delivered again (another key, as a second chain would), it fires no more.
	restarted.c.request(interactive.TimeoutAction, st3)
	if restarted.named.Load() != 1 || restarted.Stats().TimedOut != 1 {
		t.Errorf("fired %d times", restarted.named.Load())
	}
	if sender.timeouts.Load() != 0 {
		t.Error("the sender's clock never moved, yet its timeout fired")
	}
}

func TestInteractiveTimeoutDefaultAndRefusals(t *testing.T) {
	api := stubapi.New(t)
	start := time.Now()
	s := newSurvey(t, api, tracking.NewManualClock(start), time.Minute)
	// A task sent without Via by another process: after a restart, the
	// default timeout closes its job.
	other, err := interactive.New("itest", testSecret, interactive.WithClient(fastClient(api)), interactive.WithClock(tracking.NewManualClock(start.Add(-2*time.Minute))),
		interactive.WithServiceOptions(extension.Serve(), service.WithLogOutput(&lockedBuffer{}, &lockedBuffer{})))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Shutdown(context.Background())
	job := jobs.New()
	job.SetCause("x")
	other.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		if _, err := other.Task(ctx, req.Org(), testSID, "os_version", interactive.WithJob(job), interactive.TTL(time.Minute),
			interactive.Then(func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })); err != nil {
			return service.Fail(err)
		}
		return service.OK(nil)
	})
	st, _ := newCloud(t, other).request("request", map[string]any{}).timeoutContinuation(t)
	c := s.c.request(interactive.TimeoutAction, st)
	if j := jobsOf(t, c); len(j) != 1 || j[0].ID != job.ID() || j[0].End == 0 || !strings.Contains(j[0].Hist[0].Msg, "did not answer os_version in time") {
		t.Errorf("default timeout: %s", c.Raw)
	}
	// A forged or missing token is refused, not retried.
	bad := st
	bad.Token = st.Token[:len(st.Token)-2] + "AA"
	for _, state := range []any{bad, map[string]any{"hop": 1}} {
		if c := s.c.request(interactive.TimeoutAction, state); c.Status != 400 || c.retriable() {
			t.Errorf("refused continuation: %d %s", c.Status, c.Raw)
		}
	}
	// The last level of a chain asks for no more.
	clock := tracking.NewManualClock(start)
	late := newSurvey(t, api, clock, 2*time.Hour)
	st, _ = late.c.request("request", map[string]any{"sid": testSID}).timeoutContinuation(t)
	st.Hop = extension.MaxContinuationLevel
	if c := late.c.request(interactive.TimeoutAction, st); c.Status != 200 || len(c.Continuations) != 0 {
		t.Errorf("past the last level: %s", c.Raw)
	}
}
