package interactive_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// packagesService registers a request handler that tasks os_packages with a
// closure continuation and a new job, like examples/packages.
func packagesService(calls *atomic.Int32, opts ...interactive.TaskOption) func(*interactive.Service) {
	return func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("package survey")
			job.AddSensor(req.SID())
			then := interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
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
			})
			all := append([]interactive.TaskOption{interactive.WithJob(job), then}, opts...)
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_packages", all...); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	}
}

// TestWholeLoop runs the loop end to end, for both detection shapes:
// install (the service stores its rule), a request that tasks a sensor,
// the sensor's answer, the rule's detection, the continuation, and the
// job it closes.
func TestWholeLoop(t *testing.T) {
	for name, shape := range map[string]lctest.DetectionShape{"documented": lctest.DocumentedDetection, "nested": lctest.NestedDetection} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			w := newWorld(t, config{cloud: []lctest.Option{lctest.WithDetectionShape(shape)}}, packagesService(&calls))

			res := w.request(t, map[string]any{"sid": w.host.SID})
			if !res.Success || len(res.Jobs) != 1 {
				t.Fatalf("request: %+v", res)
			}
			opened := res.Jobs[0]
			if opened.Cause != "package survey" || opened.Start == 0 || opened.Sensors[0] != w.host.SID {
				t.Errorf("new job: %+v", opened)
			}
			task := w.task(t)
			if task.Commands[0] != "os_packages" || !strings.HasPrefix(task.InvestigationID, "svc-itest-ex/") || task.IdempotencyKey == "" {
				t.Errorf("task = %+v", task)
			}
			if len(task.InvestigationID) > 200 {
				t.Errorf("investigation_id is %d bytes, budget 200", len(task.InvestigationID))
			}

			// The sensor answered; the rule reported the answer, not the
			// CLOUD_NOTIFICATION; the continuation closed the job.
			dets := w.reg.Detections()
			if len(dets) != 1 || dets[0].Routing.EventType != "OS_PACKAGES_REP" || calls.Load() != 1 {
				t.Fatalf("detections %+v, continuation ran %d times; want the OS_PACKAGES_REP once", dets, calls.Load())
			}
			packages := dets[0].Detect["PACKAGES"].([]any)
			job := w.job(t, opened.ID)
			last := job.Hist[len(job.Hist)-1]
			var table struct {
				Type string  `json:"att_type"`
				Rows [][]any `json:"rows"`
			}
			if len(last.Attachments) == 1 {
				_ = json.Unmarshal(last.Attachments[0], &table)
			}
			if job.End == 0 || last.Msg != fmt.Sprintf("%d packages on host-1", len(packages)) || table.Type != "table" || len(table.Rows) != len(packages) {
				t.Errorf("job = %+v", job)
			}

			// A receipt is not an answer, and a second copy of the answer no
			// longer has a closure: it is an orphan.
			if r := w.reply(t, task.InvestigationID, "CLOUD_NOTIFICATION", map[string]any{"NOTIFICATION_ID": "OS_PACKAGES_REQ"}); !r.Success || calls.Load() != 1 {
				t.Fatalf("CLOUD_NOTIFICATION routed: %+v", r)
			}
			if r := w.reply(t, task.InvestigationID, "OS_PACKAGES_REP", dets[0].Detect); !r.Success || calls.Load() != 1 {
				t.Errorf("duplicate reply: %+v", r)
			}
			st := w.is.Stats()
			if st.Tasked != 1 || st.RoutedClosure != 1 || st.Orphans != 1 || st.Pending.Pending != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestNamedHandlerAfterRestart(t *testing.T) {
	type state struct {
		Step int    `json:"step"`
		Note string `json:"note"`
	}
	var got []string
	register := func(is *interactive.Service) {
		is.HandleReply("versions", func(ctx context.Context, r *interactive.Reply) service.Response {
			var st state
			if err := r.State(&st); err != nil {
				return service.Fail(err)
			}
			got = append(got, fmt.Sprintf("%s step=%d note=%s job=%v", r.EventType, st.Step, st.Note, r.Job != nil))
			r.Job.Narrate("version checked", false)
			return service.OK(nil)
		})
	}
	var first *interactive.Service
	w := newWorld(t, config{}, func(is *interactive.Service) {
		first = is
		register(is)
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			job := jobs.New()
			job.SetCause("c")
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", interactive.Via("versions"), interactive.WithJob(job), interactive.WithState(state{Step: 2, Note: "x"}))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil).WithJobs(job)
		})
	})
	release := gate(t, w.host, "os_version") // the answer waits for the restart
	res, err := w.reg.Request(t.Context(), w.org, map[string]any{"sid": w.host.SID})
	if err != nil || !res.Success {
		t.Fatal(res, err)
	}
	// A fresh process: same name and secret, empty tracking table.
	_ = first.Shutdown(t.Context())
	second := w.process(t, register)
	w.reg.SetHandler(second)
	release()
	w.waitIdle(t)

	if len(got) != 1 || got[0] != "OS_VERSION_REP step=2 note=x job=true" {
		t.Fatalf("named handler got %v", got)
	}
	if j := w.job(t, res.Jobs[0].ID); len(j.Hist) != 1 || j.Hist[0].Msg != "version checked" {
		t.Errorf("job = %+v", j)
	}
	if st := second.Stats(); st.RoutedNamed != 1 || st.RoutedClosure != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestStreamingReceivesEveryReply scans with YARA: the sensor answers one
// YARA_DETECTION per hit, then a RECEIPT saying done.
func TestStreamingReceivesEveryReply(t *testing.T) {
	var seen []string
	var timeouts atomic.Int32
	w := newWorld(t, config{}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "yara_scan hive://yara/rule1", interactive.Stream(), interactive.TTL(time.Hour),
				interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
					var hit struct {
						Path string `json:"FILE_PATH"`
						Rule string `json:"RULE_NAME"`
					}
					_ = r.Decode(&hit)
					seen = append(seen, fmt.Sprintf("%d:%s:%s:%s:%v", r.Replies, r.EventType, hit.Rule, hit.Path, r.Final))
					return service.OK(nil)
				}),
				interactive.OnTimeout(func(context.Context, *interactive.Timeout) { timeouts.Add(1) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	var want []string
	for _, e := range lctest.BuiltinAnswer(w.host, lctest.Command{Name: "yara_scan", Args: []string{"hive://yara/rule1"}}) {
		if e.Type == "YARA_DETECTION" {
			want = append(want, fmt.Sprintf("%d:YARA_DETECTION:rule1:%s:false", len(want)+1, e.Payload["FILE_PATH"]))
		}
	}
	want = append(want, fmt.Sprintf("%d:RECEIPT:::true", len(want)+1))
	w.request(t, map[string]any{"sid": w.host.SID})
	if g, wnt := strings.Join(seen, " "), strings.Join(want, " "); len(want) < 3 || g != wnt {
		t.Errorf("replies:\n got %s\nwant %s", g, wnt)
	}
	if st := w.is.Stats(); st.Pending.Pending != 0 || st.RoutedClosure != int64(len(want)) {
		t.Errorf("stream not finished by the done receipt: %+v", st)
	}
	w.reply(t, w.task(t).InvestigationID, "YARA_DETECTION", map[string]any{"FILE_PATH": "/late"})
	if len(seen) != len(want) || timeouts.Load() != 0 {
		t.Errorf("after done: %v, %d timeouts", seen, timeouts.Load())
	}
}

func TestReceiptErrorReachesContinuation(t *testing.T) {
	var got error
	var plat interactive.Platform
	w := newWorld(t, config{}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), `file_get "C:\no such file"`, interactive.Then(func(_ context.Context, r *interactive.Reply) service.Response {
				got, plat = r.Err, r.Platform
				return service.OK(nil)
			}))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	w.request(t, map[string]any{"sid": w.host.SID}) // a Windows path on a Linux sensor
	if got == nil || !strings.Contains(got.Error(), "not an absolute path") || plat != interactive.Linux {
		t.Errorf("reply error = %v, platform %v", got, plat)
	}
}

func TestEvictedClosureFallsBackToNamedHandler(t *testing.T) {
	var closure, named atomic.Int32
	w := newWorld(t, config{opts: []interactive.Option{interactive.WithCapacity(1)}}, func(is *interactive.Service) {
		is.HandleReply("n", func(context.Context, *interactive.Reply) service.Response { named.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", interactive.Via("n"), interactive.TTL(time.Hour),
				interactive.Then(func(context.Context, *interactive.Reply) service.Response { closure.Add(1); return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	// Both tasks are pending when the answers come; the second task evicts
	// the first one's closure.
	release := gate(t, w.host, "os_version")
	for range 2 {
		if _, err := w.reg.Request(t.Context(), w.org, map[string]any{"sid": w.host.SID}); err != nil {
			t.Fatal(err)
		}
	}
	release()
	w.waitIdle(t)
	if named.Load() != 1 || closure.Load() != 1 {
		t.Errorf("named %d, closure %d; want 1 and 1", named.Load(), closure.Load())
	}
	if st := w.is.Stats(); st.Evicted != 1 || st.RoutedNamed != 1 || st.RoutedClosure != 1 {
		t.Errorf("stats = %+v", st)
	}
}
