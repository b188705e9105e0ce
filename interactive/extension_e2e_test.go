package interactive_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// The whole loop served as an extension, against lctest speaking the
// extension protocol: subscribe stores the replicant rule, whose response
// is an extension request; a request tasks the sensor; the answer comes
// back as a request with the reply action, the continuation runs and the
// job's update comes back in data; unsubscribe deletes the rule.
func TestWholeLoopOverExtensions(t *testing.T) {
	var calls atomic.Int32
	w := newWorld(t, config{extension: true}, packagesService(&calls))

	rule, ok := w.org.Rule("managed", "svc-"+name+"-ex")
	if !ok || rule.Err != nil || !strings.Contains(string(rule.Respond), `"extension request"`) || !strings.Contains(string(rule.Respond), interactive.ReplyAction) {
		t.Fatalf("replicant rule after subscribe: %+v (%v)", rule, ok)
	}

	res := w.request(t, map[string]any{"sid": w.host.SID})
	if !res.Success || len(res.Jobs) != 1 {
		t.Fatalf("request: %+v", res)
	}
	opened := res.Jobs[0]
	task := w.task(t)
	if task.Commands[0] != "os_packages" || !strings.HasPrefix(task.InvestigationID, "svc-"+name+"-ex/") {
		t.Errorf("task = %+v", task)
	}
	var replies []lctest.Exchange
	for _, x := range w.reg.Exchanges() {
		if x.EType == "request" && x.Action == interactive.ReplyAction {
			replies = append(replies, x)
		}
	}
	if len(replies) != 1 || !replies[0].Response.Success || calls.Load() != 1 {
		t.Fatalf("reply requests %+v, continuation ran %d times; want the OS_PACKAGES_REP once", replies, calls.Load())
	}
	if len(replies[0].Response.Jobs) != 1 || replies[0].Response.Jobs[0].ID != opened.ID {
		t.Errorf("the reply's answer carries no job update in data.jobs: %s", replies[0].Body)
	}
	job := w.job(t, opened.ID)
	if job.End == 0 || !strings.HasSuffix(job.Hist[len(job.Hist)-1].Msg, "packages on host-1") {
		t.Errorf("job = %+v", job)
	}
	// The answered task's timeout continuation is pending; when it fires
	// it does nothing.
	if w.cloud.PendingContinuations() != 1 {
		t.Errorf("%d continuations pending, want the task's timeout", w.cloud.PendingContinuations())
	}

	if res, err := w.reg.Uninstall(t.Context(), w.org); err != nil || !res.Success {
		t.Fatalf("unsubscribe: %+v %v", res, err)
	}
	if _, ok := w.org.Rule("managed", "svc-"+name+"-ex"); ok {
		t.Error("the replicant rule survived unsubscribe")
	}
}

// A sensor that never answers: the task's timeout rides a continuation, so
// a fresh process (the one that sent the task is gone) fires it with the
// named timeout handler, and the job update comes back in the answer.
func TestTimeoutThroughContinuation(t *testing.T) {
	clock := tracking.NewManualClock(time.Now())
	var named atomic.Int32
	setup := func(is *interactive.Service) {
		is.HandleReply("h", func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
		is.HandleTimeout("h", func(ctx context.Context, to *interactive.Timeout) {
			named.Add(1)
			if to.Job != nil {
				to.Job.Narrate("no answer from "+to.SID, true)
				to.Job.Close()
			}
		})
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("user survey")
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_users", interactive.TTL(time.Minute), interactive.Via("h"), interactive.WithJob(job)); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	}
	opts := []interactive.Option{interactive.WithClock(clock)}
	w := newWorld(t, config{extension: true, opts: opts}, setup)
	w.host.SetOnline(false)
	w.request(t, map[string]any{"sid": w.host.SID})
	if len(w.org.Tasks()) != 1 || w.cloud.PendingContinuations() != 1 {
		var bodies []string
		for _, x := range w.reg.Exchanges() {
			bodies = append(bodies, x.EType+" "+x.Action+": "+string(x.Body))
		}
		t.Fatalf("tasks %+v, %d continuations pending; answers %s; log %s", w.org.Tasks(), w.cloud.PendingContinuations(), strings.Join(bodies, "\n"), w.log)
	}

	// The process restarts: the new one holds no closure and no timer, and
	// its clock is past the task's expiry (the old one's clock stays put,
	// so its own timer never fires).
	later := tracking.NewManualClock(clock.Now().Add(2 * time.Minute))
	fresh := w.process(t, setup, interactive.WithServiceOptions(extension.Serve()), interactive.WithClock(later))
	w.reg.SetHandler(fresh)
	for range extension.MaxContinuationLevel {
		if n, err := w.cloud.RunContinuations(t.Context()); err != nil || n == 0 {
			break
		}
		w.waitIdle(t)
	}
	if named.Load() != 1 {
		t.Fatalf("the named timeout handler ran %d times, want once", named.Load())
	}
	var timeouts []lctest.Exchange
	for _, x := range w.reg.Exchanges() {
		if x.Action == interactive.TimeoutAction {
			timeouts = append(timeouts, x)
		}
	}
	if len(timeouts) == 0 || !strings.HasSuffix(timeouts[0].MID, ":1") || !timeouts[len(timeouts)-1].Response.Success {
		t.Fatalf("timeout continuations %+v", timeouts)
	}
	var msg struct {
		Request struct {
			Data struct {
				Token string `json:"token"`
				SID   string `json:"sid"`
			} `json:"data"`
		} `json:"request"`
	}
	if err := json.Unmarshal(timeouts[0].Request, &msg); err != nil || msg.Request.Data.Token == "" || msg.Request.Data.SID != w.host.SID {
		t.Errorf("timeout continuation data %s: %v", timeouts[0].Request, err)
	}
	if last := timeouts[len(timeouts)-1].Response.Jobs; len(last) != 1 || last[0].End == 0 || !strings.HasPrefix(last[0].Hist[0].Msg, "no answer from") {
		t.Errorf("the timeout's answer carries no closed job in data.jobs: %s", timeouts[len(timeouts)-1].Body)
	}
	if w.cloud.PendingContinuations() != 0 {
		t.Errorf("%d continuations still pending after the timeout fired", w.cloud.PendingContinuations())
	}
}
