package interactive

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// packagesService registers a request handler that tasks os_packages with a
// closure continuation and a new job, like examples/packages.
func packagesService(calls *atomic.Int32, opts ...TaskOption) func(*Service) {
	return func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("package survey")
			job.AddSensor(req.SID())
			all := append([]TaskOption{WithJob(job), Then(func(ctx context.Context, r *Reply) service.Response {
				calls.Add(1)
				var rep struct {
					Packages []struct {
						Name string `json:"PACKAGE_NAME"`
					} `json:"PACKAGES"`
				}
				if err := r.Decode(&rep); err != nil {
					return service.Fail(err)
				}
				tbl := jobs.NewTable("packages", "name")
				for _, p := range rep.Packages {
					tbl.AddRow(p.Name)
				}
				r.Job.Narrate(fmt.Sprintf("%d packages on %s", tbl.Len(), r.Hostname), false, tbl)
				r.Job.Close()
				return service.OK(nil)
			})}, opts...)
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_packages", all...); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	}
}

func TestClosureContinuationClosesJob(t *testing.T) {
	api := newStubAPI(t)
	var calls atomic.Int32
	h := newHarness(t, api, packagesService(&calls))

	res := h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	if !res.Success || len(res.Jobs) != 1 {
		t.Fatalf("request: %+v", res)
	}
	newJob := res.jobs(t)[0]
	if newJob.Cause != "package survey" || newJob.Start == 0 || newJob.SIDs[0] != testSID {
		t.Errorf("new job: %+v", newJob)
	}
	tasks := api.recordedTasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks = %+v", tasks)
	}
	task := tasks[0]
	if task.SID != testSID || task.Commands[0] != "os_packages" || task.Auth != "bearer "+testJWT ||
		!strings.HasPrefix(task.InvestigationID, "svc-itest-ex/") || task.IdempotencyKey == "" {
		t.Errorf("task = %+v", task)
	}
	if len(task.InvestigationID) > 200 {
		t.Errorf("investigation_id is %d bytes, budget 200", len(task.InvestigationID))
	}

	// The cloud's receipt is not an answer.
	if r := h.deliver(service.Detection, detection(task, "CLOUD_NOTIFICATION", map[string]any{"NOTIFICATION_ID": "OS_PACKAGES_REQ"})); !r.Success || calls.Load() != 0 {
		t.Fatalf("CLOUD_NOTIFICATION routed: %+v", r)
	}
	reply := detection(task, "OS_PACKAGES_REP", map[string]any{"PACKAGES": []map[string]string{{"PACKAGE_NAME": "curl"}, {"PACKAGE_NAME": "bash"}}})
	res = h.deliver(service.Detection, reply)
	if !res.Success || calls.Load() != 1 {
		t.Fatalf("reply: %+v (calls %d)", res, calls.Load())
	}
	upd := res.jobs(t)
	if len(upd) != 1 || upd[0].ID != newJob.ID || upd[0].End == 0 || upd[0].Start != 0 ||
		len(upd[0].Hist) != 1 || upd[0].Hist[0].Msg != "2 packages on host-1" || upd[0].Hist[0].Attachments[0]["att_type"] != "table" {
		t.Errorf("job update: %+v", upd)
	}
	// A second copy of the same reply no longer has a closure: orphan.
	if res := h.deliver(service.Detection, reply); !res.Success || calls.Load() != 1 {
		t.Errorf("duplicate reply: %+v", res)
	}
	st := h.is.Stats()
	if st.Tasked != 1 || st.RoutedClosure != 1 || st.Orphans != 1 || st.Pending.Pending != 0 {
		t.Errorf("stats = %+v", st)
	}
	t.Logf("investigation_id %d bytes; stats after the loop: %+v", len(task.InvestigationID), st)
}

func TestNamedHandlerAfterRestart(t *testing.T) {
	api := newStubAPI(t)
	type state struct {
		Step int    `json:"step"`
		Note string `json:"note"`
	}
	var got []string
	register := func(is *Service) {
		is.HandleReply("versions", func(ctx context.Context, r *Reply) service.Response {
			var st state
			if err := r.State(&st); err != nil {
				return service.Fail(err)
			}
			got = append(got, fmt.Sprintf("%s step=%d note=%s job=%v", r.EventType, st.Step, st.Note, r.Job != nil))
			r.Job.Narrate("version checked", false)
			return service.OK(nil)
		})
	}
	first := newHarness(t, api, func(is *Service) {
		register(is)
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", Via("versions"), WithJob(job), WithState(state{Step: 2, Note: "x"}))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	})
	if res := first.deliver(service.RequestEvent, map[string]any{"sid": testSID}); !res.Success {
		t.Fatal(res)
	}
	// A fresh process: same name and secret, empty tracking table.
	second := newHarness(t, api, register)
	res := second.deliver(service.Detection, detection(api.recordedTasks()[0], "OS_VERSION_REP", map[string]any{"BUILD_NUMBER": 1}))
	if !res.Success || len(got) != 1 || got[0] != "OS_VERSION_REP step=2 note=x job=true" {
		t.Fatalf("named handler: %+v, got %v", res, got)
	}
	if j := res.jobs(t); len(j) != 1 || j[0].Hist[0].Msg != "version checked" {
		t.Errorf("job update = %+v", j)
	}
	if st := second.is.Stats(); st.RoutedNamed != 1 || st.RoutedClosure != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestForgedTamperedExpiredNeverReachUserCode(t *testing.T) {
	api := newStubAPI(t)
	var userCalls atomic.Int32
	var orphanCalls atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("h", func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnDetection(func(context.Context, *service.Request) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", Via("h"),
				Then(func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) }), TTL(time.Hour))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	}, WithOrphanHandler(func(context.Context, *Reply) service.Response { orphanCalls.Add(1); return service.OK(nil) }))
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	task := api.recordedTasks()[0]
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
	other, _ := token.NewCodec("itest", []byte("another-secret"))
	forged, _ := other.Encode(token.Token{ID: [16]byte{1}, Handler: "h", Expiry: time.Now().Add(time.Hour)}, testOID, testSID)
	mine, _ := token.NewCodec("itest", []byte(testSecret))
	expired, _ := mine.Encode(token.Token{ID: [16]byte{2}, Handler: "h", Expiry: time.Now().Add(-time.Minute)}, testOID, testSID)

	for name, inv := range map[string]string{
		"tampered first byte": prefix + "/" + flip(tok, 0),
		"tampered middle":     prefix + "/" + flip(tok, len(tok)/2),
		"tampered last byte":  prefix + "/" + flip(tok, len(tok)-1),
		"truncated":           prefix + "/" + tok[:len(tok)-4],
		"garbage":             prefix + "/not-a-token",
		"forged":              forged,
		"expired":             expired,
	} {
		tk := task
		tk.InvestigationID = inv
		if res := h.deliver(service.Detection, detection(tk, "OS_VERSION_REP", map[string]any{})); !res.Success {
			t.Errorf("%s: answered %+v; want success so the cloud does not retry", name, res)
		}
	}
	if userCalls.Load() != 0 || orphanCalls.Load() != 0 {
		t.Fatalf("user code reached by bad tokens: %d user, %d orphan", userCalls.Load(), orphanCalls.Load())
	}
	st := h.is.Stats()
	if st.Refused != 6 || st.Expired != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(h.log.String(), "reply refused") {
		t.Error("refusals not logged")
	}
	// The genuine token still works and the user's OnDetection still gets
	// detections that are not replies.
	h.deliver(service.Detection, detection(task, "OS_VERSION_REP", map[string]any{}))
	h.deliver(service.Detection, map[string]any{"cat": "something-else", "routing": map[string]any{"sid": testSID}})
	if userCalls.Load() != 2 {
		t.Errorf("user calls = %d, want the genuine reply and the plain detection", userCalls.Load())
	}
}

// A genuine investigation_id echoed in another organization, by another
// sensor, or in a routing that disagrees with its webhook's organization
// runs no user code and counts as refused.
func TestReplyBoundToItsOrgAndSensor(t *testing.T) {
	api := newStubAPI(t)
	var userCalls atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("h", func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", Via("h"),
				Then(func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	task := api.recordedTasks()[0]
	const orgB, sensorY = "bbbbbbbb-2222-3333-4444-555555555555", "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"

	inOrgB := detection(stubTask{SID: sensorY, InvestigationID: task.InvestigationID}, "OS_VERSION_REP", map[string]any{})
	inOrgB["routing"].(map[string]any)["oid"] = orgB
	if res := h.deliverAs(orgB, service.Detection, inOrgB); !res.Success || len(res.Jobs) != 0 {
		t.Errorf("org B's detection: %+v", res)
	}
	sameOrgOtherSensor := detection(stubTask{SID: sensorY, InvestigationID: task.InvestigationID}, "OS_VERSION_REP", map[string]any{})
	h.deliver(service.Detection, sameOrgOtherSensor)
	routingOrgB := detection(task, "OS_VERSION_REP", map[string]any{})
	routingOrgB["routing"].(map[string]any)["oid"] = orgB
	h.deliver(service.Detection, routingOrgB) // webhook of org A, routing saying org B
	webhookOrgB := detection(task, "OS_VERSION_REP", map[string]any{})
	h.deliverAs(orgB, service.Detection, webhookOrgB) // webhook of org B, routing saying org A
	if n := userCalls.Load(); n != 0 {
		t.Fatalf("user code ran %d times for replies from elsewhere", n)
	}
	if st := h.is.Stats(); st.Refused != 4 || st.RoutedClosure+st.RoutedNamed+st.Orphans != 0 {
		t.Errorf("stats = %+v; want 4 refused, nothing routed", st)
	}
	// From its own sensor, in its own organization, it is routed.
	upper := detection(task, "OS_VERSION_REP", map[string]any{})
	upper["routing"].(map[string]any)["sid"] = strings.ToUpper(testSID)
	h.deliver(service.Detection, upper)
	if n := userCalls.Load(); n != 1 {
		t.Errorf("genuine reply: %d user calls", n)
	}
}

func TestTimeoutFiresOnceAndRidesNextResponse(t *testing.T) {
	api := newStubAPI(t)
	clock := tracking.NewManualClock(time.Now())
	var fired atomic.Int32
	var jobID string
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			jobID = job.ID()
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_packages", WithJob(job), TTL(time.Minute),
				Then(func(context.Context, *Reply) service.Response { t.Error("continuation ran"); return service.OK(nil) }),
				OnTimeout(func(ctx context.Context, to *Timeout) {
					fired.Add(1)
					if to.Org.ID != testOID || to.Org.JWT != testJWT || to.SID != testSID || to.Command != "os_packages" {
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
	}, WithClock(clock))
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	clock.Advance(59 * time.Second)
	if fired.Load() != 0 {
		t.Fatal("the timeout fired before its TTL")
	}
	clock.Advance(2 * time.Second) // Advance returns once the timeout has been handled
	if st := h.is.Stats(); fired.Load() != 1 || st.TimedOut != 1 || st.QueuedJobs != 1 {
		t.Fatalf("after the TTL: fired %d, stats %+v; want one timeout and its job update queued", fired.Load(), st)
	}
	// A failed response does not carry the queued update: the cloud may
	// discard it.
	h.is.OnNewSensor(func(context.Context, *service.Request) service.Response { return service.Failf("refused") })
	if res := h.deliver(service.NewSensor, map[string]any{}); res.Success || len(res.Jobs) != 0 {
		t.Fatalf("failed response carried jobs: %+v", res)
	}
	// The next successful response to the organization carries it.
	update := h.deliver(service.OrgPer1h, map[string]any{}).jobs(t)
	if len(update) != 1 || update[0].ID != jobID || update[0].End == 0 || update[0].Hist[0].Msg != "no answer" {
		t.Errorf("update = %+v", update)
	}
	if st := h.is.Stats(); st.QueuedJobs != 0 {
		t.Errorf("queued jobs after the update was sent: %d", st.QueuedJobs)
	}
	// A late reply does not run the continuation; nothing fires twice.
	clock.Advance(time.Hour)
	res := h.deliver(service.Detection, detection(api.recordedTasks()[0], "OS_PACKAGES_REP", map[string]any{}))
	if !res.Success || fired.Load() != 1 || len(h.deliver(service.OrgPer1h, map[string]any{}).Jobs) != 0 {
		t.Errorf("after the late reply: %+v fired=%d", res, fired.Load())
	}
}

func TestDefaultTimeoutClosesJobAsFailed(t *testing.T) {
	api := newStubAPI(t)
	clock := tracking.NewManualClock(time.Now())
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_users", WithJob(job), TTL(time.Minute), Then(func(context.Context, *Reply) service.Response { return service.OK(nil) })); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	}, WithClock(clock))
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	clock.Advance(2 * time.Minute)
	update := h.deliver(service.OrgPer1h, map[string]any{}).jobs(t)
	if len(update) != 1 || update[0].End == 0 || !update[0].Hist[0].Important || !strings.Contains(update[0].Hist[0].Msg, "did not answer os_users") {
		t.Errorf("update = %+v", update)
	}
}

func TestTimeoutWithTheSystemClock(t *testing.T) {
	api := newStubAPI(t)
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_users", TTL(time.Millisecond), Then(func(context.Context, *Reply) service.Response { return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	// Tokens carry whole seconds, so the task expires within two.
	eventually(t, "the timeout", func() bool { return h.is.Stats().TimedOut == 1 })
}

func TestStreamingReceivesThreeReplies(t *testing.T) {
	api := newStubAPI(t)
	var seen []string
	var timeouts atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "yara_scan -e evil.exe rule1", Stream(), TTL(time.Hour),
				Then(func(ctx context.Context, r *Reply) service.Response {
					var hit struct{ FILE_PATH string }
					_ = r.Decode(&hit)
					seen = append(seen, fmt.Sprintf("%d:%s:%s:%v", r.Replies, r.EventType, hit.FILE_PATH, r.Final))
					return service.OK(nil)
				}),
				OnTimeout(func(context.Context, *Timeout) { timeouts.Add(1) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	task := api.recordedTasks()[0]
	for _, p := range []string{"/a", "/b", "/c"} {
		h.deliver(service.Detection, detection(task, "YARA_DETECTION", map[string]any{"FILE_PATH": p, "RULE_NAME": "rule1"}))
	}
	h.deliver(service.Detection, detection(task, "RECEIPT", map[string]any{"ERROR": 0, "ERROR_MESSAGE": "done"}))
	want := "1:YARA_DETECTION:/a:false 2:YARA_DETECTION:/b:false 3:YARA_DETECTION:/c:false 4:RECEIPT::true"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("replies:\n got %s\nwant %s", got, want)
	}
	if st := h.is.Stats(); st.Pending.Pending != 0 || st.RoutedClosure != 4 {
		t.Errorf("stream not finished by the done receipt: %+v", st)
	}
	h.deliver(service.Detection, detection(task, "YARA_DETECTION", map[string]any{"FILE_PATH": "/late"}))
	if len(seen) != 4 || timeouts.Load() != 0 {
		t.Errorf("after done: %v, %d timeouts", seen, timeouts.Load())
	}
}

func TestReceiptErrorReachesContinuation(t *testing.T) {
	api := newStubAPI(t)
	var got error
	var plat Platform
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), `file_get "C:\no such file"`, Then(func(_ context.Context, r *Reply) service.Response {
				got, plat = r.Err, r.Platform
				return service.OK(nil)
			}))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	h.deliver(service.Detection, detection(api.recordedTasks()[0], "RECEIPT", map[string]any{"ERROR": 2, "ERROR_MESSAGE": "file not found"}))
	if got == nil || !strings.Contains(got.Error(), "file not found") || plat != Linux {
		t.Errorf("reply error = %v, platform %v", got, plat)
	}
}

func TestRuleLifecycle(t *testing.T) {
	api := newStubAPI(t)
	var userInstall atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.OnOrgInstall(func(context.Context, *service.Request) service.Response {
			userInstall.Add(1)
			return service.OK(map[string]string{"welcome": "yes"})
		})
	})
	res := h.deliver(service.OrgInstall, map[string]any{})
	if !res.Success || string(res.Data) != `{"welcome":"yes"}` || userInstall.Load() != 1 {
		t.Errorf("install: user's response not sent: %+v", res)
	}
	var rule struct {
		Detect struct {
			Rules []struct {
				Op, Path string
				Value    string
				Not      bool
			}
		}
		Respond []struct{ Action, Name string }
	}
	api.mu.Lock()
	raw := api.rules["svc-itest-ex"]
	api.mu.Unlock()
	if err := json.Unmarshal(raw, &rule); err != nil {
		t.Fatalf("stored rule %s: %v", raw, err)
	}
	if rule.Detect.Rules[0].Value != "svc-itest-ex/" || rule.Detect.Rules[1].Value != "CLOUD_NOTIFICATION" || !rule.Detect.Rules[1].Not ||
		rule.Respond[0].Action != "report" || rule.Respond[0].Name != "__svc-itest-ex" {
		t.Errorf("rule = %s", raw)
	}
	h.deliver(service.OrgPer1h, map[string]any{})
	h.deliver(service.OrgUninstall, map[string]any{})
	h.deliver(service.OrgUninstall, map[string]any{}) // already gone: not an error
	want := "POST svc-itest-ex,POST svc-itest-ex,DELETE svc-itest-ex,DELETE svc-itest-ex"
	if got := strings.Join(api.calls(), ","); got != want {
		t.Errorf("rule calls = %s, want %s", got, want)
	}
	if st := h.is.Stats(); st.RuleErrors != 0 {
		t.Errorf("rule errors = %d", st.RuleErrors)
	}
	// Health lists the subscription and the intercepted etypes.
	hres := h.deliver(service.Health, map[string]any{})
	for _, want := range []string{`"__svc-itest-ex"`, `"org_install"`, `"org_uninstall"`, `"org_per_1h"`, `"detection"`} {
		if !strings.Contains(string(hres.Data), want) {
			t.Errorf("health lacks %s: %s", want, hres.Data)
		}
	}
}

func TestRuleErrorReportedWithoutHidingUserResult(t *testing.T) {
	api := newStubAPI(t)
	api.Close() // every API call now fails at the network
	h := newHarness(t, api, func(is *Service) {
		is.OnOrgInstall(func(context.Context, *service.Request) service.Response {
			return service.OK(map[string]string{"welcome": "yes"})
		})
	})
	res := h.deliver(service.OrgInstall, map[string]any{})
	if !res.Success || string(res.Data) != `{"welcome":"yes"}` || !strings.Contains(res.Error, "installing D&R rule svc-itest-ex") {
		t.Errorf("got %+v", res)
	}
	if h.is.Stats().RuleErrors != 1 {
		t.Error("rule error not counted")
	}
}

func TestRateLimitedTaskRetriedOnceAndSentOnce(t *testing.T) {
	api := newStubAPI(t)
	api.failNext = []int{429}
	var calls atomic.Int32
	h := newHarness(t, api, packagesService(&calls))
	if res := h.deliver(service.RequestEvent, map[string]any{"sid": testSID}); !res.Success {
		t.Fatalf("request: %+v", res)
	}
	api.mu.Lock()
	attempts := api.attempts
	api.mu.Unlock()
	if tasks := api.recordedTasks(); attempts != 2 || len(tasks) != 1 {
		t.Errorf("attempts %d, tasks %d; want 2 and 1", attempts, len(tasks))
	}
}

func TestTaskErrors(t *testing.T) {
	api := newStubAPI(t)
	var failed error
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("known", func(context.Context, *Reply) service.Response { return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			then := Then(func(context.Context, *Reply) service.Response { return service.OK(nil) })
			org := req.Org()
			cases := map[string]struct {
				org  tasking.Org
				sid  string
				cmd  string
				opts []TaskOption
				want string
			}{
				"no organization": {tasking.Org{}, testSID, "os_version", []TaskOption{then}, "organization of the message being handled"},
				"no jwt":          {tasking.Org{ID: testOID}, testSID, "os_version", []TaskOption{then}, "Org.JWT is empty"},
				"no sid":          {org, "", "os_version", []TaskOption{then}, "sensor id"},
				"no command":      {org, testSID, " ", []TaskOption{then}, "command line"},
				"no continuation": {org, testSID, "os_version", nil, "continuation"},
				"unknown handler": {org, testSID, "os_version", []TaskOption{Via("nope")}, `no reply handler named "nope"`},
				"bad ttl":         {org, testSID, "os_version", []TaskOption{then, TTL(-1)}, "TTL"},
				"state too large": {org, testSID, "os_version", []TaskOption{then, WithState(strings.Repeat("x", 400))}, "state"},
				"state not json":  {org, testSID, "os_version", []TaskOption{then, WithState(make(chan int))}, "state"},
			}
			for name, c := range cases {
				if _, err := is.Task(ctx, c.org, c.sid, c.cmd, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: err = %v, want %q", name, err, c.want)
				}
			}
			_, failed = is.Task(ctx, req.Org(), "00000000-0000-0000-0000-000000000000", "os_version", then)
			return service.OK(nil)
		})
	})
	api.failNext = []int{403}
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	if failed == nil || !strings.Contains(failed.Error(), "tasking sensor") || !errorsIs(failed, tasking.ErrForbidden) {
		t.Errorf("API refusal: %v", failed)
	}
	if st := h.is.Stats(); st.TaskErrors != 1 || st.Pending.Pending != 0 || st.Tasked != 0 {
		t.Errorf("stats after refusals = %+v", st)
	}
}

func TestEvictedClosureFallsBackToNamedHandler(t *testing.T) {
	api := newStubAPI(t)
	var closure, named atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("n", func(context.Context, *Reply) service.Response { named.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", Via("n"), TTL(time.Hour),
				Then(func(context.Context, *Reply) service.Response { closure.Add(1); return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	}, WithCapacity(1))
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID}) // evicts the first
	tasks := api.recordedTasks()
	h.deliver(service.Detection, detection(tasks[0], "OS_VERSION_REP", map[string]any{}))
	h.deliver(service.Detection, detection(tasks[1], "OS_VERSION_REP", map[string]any{}))
	if named.Load() != 1 || closure.Load() != 1 {
		t.Errorf("named %d, closure %d; want 1 and 1", named.Load(), closure.Load())
	}
	if st := h.is.Stats(); st.Evicted != 1 || st.RoutedNamed != 1 || st.RoutedClosure != 1 {
		t.Errorf("stats = %+v", st)
	}
}
