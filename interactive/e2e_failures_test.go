package interactive_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

func TestForgedTamperedExpiredNeverReachUserCode(t *testing.T) {
	var userCalls, orphanCalls atomic.Int32
	orphans := interactive.WithOrphanHandler(func(context.Context, *interactive.Reply) service.Response { orphanCalls.Add(1); return service.OK(nil) })
	w := newWorld(t, config{opts: []interactive.Option{orphans}}, func(is *interactive.Service) {
		is.HandleReply("h", func(context.Context, *interactive.Reply) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnDetection(func(context.Context, *service.Request) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", interactive.Via("h"),
				interactive.Then(func(context.Context, *interactive.Reply) service.Response { userCalls.Add(1); return service.OK(nil) }), interactive.TTL(time.Hour))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	w.host.SetOnline(false) // the task is accepted and never answered: the test answers
	w.request(t, map[string]any{"sid": w.host.SID})
	task := w.task(t)
	prefix, tok, _ := strings.Cut(task.InvestigationID, "/")

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, _ := token.NewCodec(name, []byte("another-secret"))
	forged, _ := other.Encode(token.Token{ID: [16]byte{1}, Handler: "h", Expiry: time.Now().Add(time.Hour)}, w.org.OID, w.host.SID)
	mine, _ := token.NewCodec(name, []byte(secret))
	expired, _ := mine.Encode(token.Token{ID: [16]byte{2}, Handler: "h", Expiry: time.Now().Add(-time.Minute)}, w.org.OID, w.host.SID)

	for what, inv := range map[string]string{
		"tampered first byte": prefix + "/" + flip(tok, 0),
		"tampered middle":     prefix + "/" + flip(tok, len(tok)/2),
		"tampered last byte":  prefix + "/" + flip(tok, len(tok)-1),
		"truncated":           prefix + "/" + tok[:len(tok)-4],
		"garbage":             prefix + "/not-a-token",
		"forged":              forged,
		"expired":             expired,
	} {
		if res := w.reply(t, inv, "OS_VERSION_REP", map[string]any{}); !res.Success {
			t.Errorf("%s: answered %+v; want success so the cloud does not retry", what, res)
		}
	}
	if userCalls.Load() != 0 || orphanCalls.Load() != 0 {
		t.Fatalf("user code reached by bad tokens: %d user, %d orphan", userCalls.Load(), orphanCalls.Load())
	}
	if st := w.is.Stats(); st.Refused != 6 || st.Expired != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(w.log.String(), "reply refused") {
		t.Error("refusals not logged")
	}
	// The genuine token still works and the user's OnDetection still gets
	// detections that are not replies.
	w.reply(t, task.InvestigationID, "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1})
	if _, err := w.reg.Deliver(t.Context(), "detection", w.org, map[string]any{"cat": "something-else", "routing": map[string]any{"sid": w.host.SID}}); err != nil {
		t.Fatal(err)
	}
	if userCalls.Load() != 2 {
		t.Errorf("user calls = %d, want the genuine reply and the plain detection", userCalls.Load())
	}
}

func TestTimeoutFiresOnceAndRidesNextResponse(t *testing.T) {
	clock := tracking.NewManualClock(time.Now())
	var fired atomic.Int32
	var jobID string
	var w *world
	w = newWorld(t, config{opts: []interactive.Option{interactive.WithClock(clock)}}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			jobID = job.ID()
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_packages", interactive.WithJob(job), interactive.TTL(time.Minute),
				interactive.Then(func(context.Context, *interactive.Reply) service.Response {
					t.Error("continuation ran")
					return service.OK(nil)
				}),
				interactive.OnTimeout(func(ctx context.Context, to *interactive.Timeout) {
					fired.Add(1)
					if to.Org.ID != w.org.OID || to.Org.JWT != w.org.JWT || to.SID != w.host.SID || to.Command != "os_packages" {
						t.Errorf("timeout = %+v", to)
					}
					to.Job.Narrate("no answer", true)
					to.Job.Close()
				}))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	})
	w.host.SetOnline(false)
	w.request(t, map[string]any{"sid": w.host.SID})
	clock.Advance(59 * time.Second)
	if fired.Load() != 0 {
		t.Fatal("the timeout fired before its TTL")
	}
	clock.Advance(2 * time.Second) // Advance returns once the timeout has been handled
	if st := w.is.Stats(); fired.Load() != 1 || st.TimedOut != 1 || st.QueuedJobs != 1 {
		t.Fatalf("after the TTL: fired %d, stats %+v; want one timeout and its job update queued", fired.Load(), st)
	}
	// A failed response does not carry the queued update: the cloud may
	// discard it.
	w.is.OnNewSensor(func(context.Context, *service.Request) service.Response { return service.Failf("refused") })
	if res, err := w.reg.Deliver(t.Context(), "new_sensor", w.org, map[string]any{"sid": w.host.SID}); err != nil || res.Success || len(res.Jobs) != 0 {
		t.Fatalf("failed response carried jobs: %+v %v", res, err)
	}
	// The next successful response to the organization carries it.
	res, err := w.reg.Tick(t.Context(), w.org, "org_per_1h")
	if err != nil || len(res.Jobs) != 1 || res.Jobs[0].ID != jobID || res.Jobs[0].End == 0 || res.Jobs[0].Hist[0].Msg != "no answer" {
		t.Errorf("tick = %+v %v", res, err)
	}
	if st := w.is.Stats(); st.QueuedJobs != 0 {
		t.Errorf("queued jobs after the update was sent: %d", st.QueuedJobs)
	}
	// A late reply does not run the continuation; nothing fires twice.
	clock.Advance(time.Hour)
	late := w.reply(t, w.task(t).InvestigationID, "OS_PACKAGES_REP", map[string]any{})
	res, _ = w.reg.Tick(t.Context(), w.org, "org_per_1h")
	if !late.Success || fired.Load() != 1 || len(res.Jobs) != 0 {
		t.Errorf("after the late reply: %+v fired=%d, tick %+v", late, fired.Load(), res)
	}
}

func TestDefaultTimeoutClosesJobAsFailed(t *testing.T) {
	clock := tracking.NewManualClock(time.Now())
	w := newWorld(t, config{opts: []interactive.Option{interactive.WithClock(clock)}}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			then := interactive.Then(func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_users", interactive.WithJob(job), interactive.TTL(time.Minute), then); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	})
	w.host.SetOnline(false)
	w.request(t, map[string]any{"sid": w.host.SID})
	clock.Advance(2 * time.Minute)
	res, err := w.reg.Tick(t.Context(), w.org, "org_per_1h")
	if err != nil || len(res.Jobs) != 1 || res.Jobs[0].End == 0 || !res.Jobs[0].Hist[0].Important || !strings.Contains(res.Jobs[0].Hist[0].Msg, "did not answer os_users") {
		t.Errorf("tick = %+v %v", res, err)
	}
}

// firingClock is a clock that tells fired, without blocking, each time a
// function it ran has returned.
type firingClock struct {
	tracking.Clock
	fired chan struct{}
}

func (c firingClock) AfterFunc(d time.Duration, f func()) func() bool {
	return c.Clock.AfterFunc(d, func() {
		f()
		select {
		case c.fired <- struct{}{}:
		default: // a signal is waiting already
		}
	})
}

func TestTimeoutWithTheSystemClock(t *testing.T) {
	clock := firingClock{tracking.SystemClock(), make(chan struct{}, 1)}
	w := newWorld(t, config{opts: []interactive.Option{interactive.WithClock(clock)}}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_users", interactive.TTL(time.Millisecond),
				interactive.Then(func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	w.host.SetOnline(false)
	w.request(t, map[string]any{"sid": w.host.SID})
	// Tokens carry whole seconds, so the task expires within two, on the
	// system clock: the pending store's timer fires then, and its sweep
	// returns once the timeout has been handled.
	for w.is.Stats().TimedOut == 0 {
		bubble.Await(t, "the pending store's timer", clock.fired)
	}
	if n := w.is.Stats().TimedOut; n != 1 {
		t.Errorf("%d timeouts, want 1", n)
	}
}

func TestRuleLifecycle(t *testing.T) {
	var userInstall atomic.Int32
	w := newWorld(t, config{noInstall: true}, func(is *interactive.Service) {
		is.OnOrgInstall(func(context.Context, *service.Request) service.Response {
			userInstall.Add(1)
			return service.OK(map[string]string{"welcome": "yes"})
		})
	})
	res, err := w.reg.Install(t.Context(), w.org)
	if err != nil || !res.Success || string(res.Data) != `{"welcome":"yes"}` || userInstall.Load() != 1 {
		t.Errorf("install: user's response not sent: %+v %v", res, err)
	}
	stored, ok := w.org.Rule("managed", "svc-itest-ex")
	if !ok || !stored.Enabled || stored.Err != nil {
		t.Fatalf("rule after install = %+v (stored %v)", stored, ok)
	}
	var detect struct {
		Rules []struct {
			Op, Path string
			Value    string
			Not      bool
		}
	}
	var respond []struct{ Action, Name string }
	if json.Unmarshal(stored.Detect, &detect) != nil || json.Unmarshal(stored.Respond, &respond) != nil {
		t.Fatalf("stored rule %s %s", stored.Detect, stored.Respond)
	}
	if detect.Rules[0].Value != "svc-itest-ex/" || detect.Rules[1].Value != "CLOUD_NOTIFICATION" || !detect.Rules[1].Not ||
		respond[0].Action != "report" || respond[0].Name != "__svc-itest-ex" {
		t.Errorf("rule = %s %s", stored.Detect, stored.Respond)
	}
	// The hourly tick stores it again, healing a deleted rule.
	w.org.DeleteRule("managed", "svc-itest-ex")
	if _, err := w.reg.Tick(t.Context(), w.org, "org_per_1h"); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.org.Rule("managed", "svc-itest-ex"); !ok {
		t.Error("the hourly tick did not store the rule again")
	}
	for range 2 { // already gone the second time: not an error
		if _, err := w.reg.Uninstall(t.Context(), w.org); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.org.Rule("managed", "svc-itest-ex"); ok {
			t.Error("the rule survived org_uninstall")
		}
	}
	if st := w.is.Stats(); st.RuleErrors != 0 {
		t.Errorf("rule errors = %d", st.RuleErrors)
	}
	// Health lists the subscription and the intercepted etypes.
	if !slices.Contains(w.reg.Subscriptions(), "__svc-itest-ex") {
		t.Errorf("subscriptions = %v", w.reg.Subscriptions())
	}
	for _, etype := range []string{"org_install", "org_uninstall", "org_per_1h", "detection"} {
		if !slices.Contains(w.reg.Callbacks(), etype) {
			t.Errorf("callbacks %v lack %s", w.reg.Callbacks(), etype)
		}
	}
}

func TestWithAPIURLPointsEveryCallThere(t *testing.T) {
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	is, err := interactive.New(name, secret, interactive.WithAPIURL(cloud.URL()), interactive.WithServiceOptions(service.WithLogOutput(&lockedBuffer{}, &lockedBuffer{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = is.Shutdown(t.Context()) })
	reg, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: name, Secret: secret, Handler: is})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := reg.Install(t.Context(), org); err != nil || !res.Success || res.Error != "" {
		t.Fatalf("install: %+v %v", res, err)
	}
	if _, ok := org.Rule("managed", "svc-itest-ex"); !ok {
		t.Error("the rule was not stored at the API URL")
	}
}

func TestRuleErrorReportedWithoutHidingUserResult(t *testing.T) {
	w := newWorld(t, config{noInstall: true}, func(is *interactive.Service) {
		is.OnOrgInstall(func(context.Context, *service.Request) service.Response {
			return service.OK(map[string]string{"welcome": "yes"})
		})
	})
	// Every attempt to store the rule loses its connection.
	w.cloud.FailNext(lctest.CallRulePut, 10, lctest.Fault{Drop: true})
	res, err := w.reg.Install(t.Context(), w.org)
	w.cloud.FailNext(lctest.CallRulePut, 0, lctest.Fault{})
	if err != nil || !res.Success || string(res.Data) != `{"welcome":"yes"}` || !strings.Contains(res.Error, "installing D&R rule svc-itest-ex") {
		t.Errorf("install = %+v %v", res, err)
	}
	if w.is.Stats().RuleErrors != 1 {
		t.Error("rule error not counted")
	}
}

func TestRateLimitedTaskRetriedOnceAndSentOnce(t *testing.T) {
	var calls atomic.Int32
	w := newWorld(t, config{}, packagesService(&calls))
	w.cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"X-Ratelimit-Period": {"0"}}})
	if res := w.request(t, map[string]any{"sid": w.host.SID}); !res.Success {
		t.Fatalf("request: %+v", res)
	}
	if faults, tasks := w.faults(), len(w.org.Tasks()); faults != 1 || tasks != 1 || calls.Load() != 1 {
		t.Errorf("%d rate-limited calls, %d tasks, %d answers; want 1, 1 and 1", faults, tasks, calls.Load())
	}
}

func TestTaskErrors(t *testing.T) {
	var failed error
	w := newWorld(t, config{}, func(is *interactive.Service) {
		is.HandleReply("known", func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			then := interactive.Then(func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
			org := req.Org()
			cases := map[string]struct {
				org  tasking.Org
				sid  string
				cmd  string
				opts []interactive.TaskOption
				want string
			}{
				"no organization": {tasking.Org{}, req.SID(), "os_version", []interactive.TaskOption{then}, "organization of the message being handled"},
				"no jwt":          {tasking.Org{ID: org.ID}, req.SID(), "os_version", []interactive.TaskOption{then}, "Org.JWT is empty"},
				"no sid":          {org, "", "os_version", []interactive.TaskOption{then}, "sensor id"},
				"no command":      {org, req.SID(), " ", []interactive.TaskOption{then}, "command line"},
				"no continuation": {org, req.SID(), "os_version", nil, "continuation"},
				"unknown handler": {org, req.SID(), "os_version", []interactive.TaskOption{interactive.Via("nope")}, `no reply handler named "nope"`},
				"bad ttl":         {org, req.SID(), "os_version", []interactive.TaskOption{then, interactive.TTL(-1)}, "TTL"},
				"state too large": {org, req.SID(), "os_version", []interactive.TaskOption{then, interactive.WithState(strings.Repeat("x", 400))}, "state"},
				"state not json":  {org, req.SID(), "os_version", []interactive.TaskOption{then, interactive.WithState(make(chan int))}, "state"},
			}
			for what, c := range cases {
				if _, err := is.Task(ctx, c.org, c.sid, c.cmd, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: err = %v, want %q", what, err, c.want)
				}
			}
			_, failed = is.Task(ctx, req.Org(), req.SID(), "os_version", then)
			return service.OK(nil)
		})
	})
	w.cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: http.StatusForbidden})
	w.request(t, map[string]any{"sid": w.host.SID})
	if failed == nil || !strings.Contains(failed.Error(), "tasking sensor") || !errors.Is(failed, tasking.ErrForbidden) {
		t.Errorf("API refusal: %v", failed)
	}
	if st := w.is.Stats(); st.TaskErrors != 1 || st.Pending.Pending != 0 || st.Tasked != 0 {
		t.Errorf("stats after refusals = %+v", st)
	}
}
