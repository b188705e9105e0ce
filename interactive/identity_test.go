package interactive

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// surveyAll tasks os_packages on every sensor listed in the request's
// "sids" (a comma-free list), in parallel, with one job.
func surveyAll(runs *atomic.Int32) func(*Service) {
	return func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			runs.Add(1)
			var in struct{ SIDs []string }
			if err := req.Decode(&in); err != nil {
				return service.Fail(err)
			}
			job := jobs.New()
			job.SetCause("survey")
			results := service.ParallelExec(ctx, 4, in.SIDs, func(ctx context.Context, sid string) (TaskID, error) {
				return is.Task(ctx, req.Org(), sid, "os_packages", WithJob(job),
					Then(func(context.Context, *Reply) service.Response { return service.OK(nil) }))
			})
			for _, r := range results {
				if r.Err != nil {
					return service.FailOrRetry(r.Err)
				}
			}
			return service.OK(nil).WithJobs(job)
		})
	}
}

func requestEnvelope(mid string, sids ...string) map[string]any {
	return map[string]any{
		"version": 1, "oid": testOID, "mid": mid, "jwt": testJWT,
		"deadline": time.Now().Add(590 * time.Second).Unix(), "etype": "request",
		"data": map[string]any{"sids": sids},
	}
}

// The same message delivered ten times at once to one process: one
// handler run, one task, one job in every answer.
func TestConcurrentRedeliveryTasksOnce(t *testing.T) {
	api := stubapi.New(t)
	var runs atomic.Int32
	h := newHarness(t, api, surveyAll(&runs))
	env := requestEnvelope("mid-concurrent", testSID)
	var wg sync.WaitGroup
	answers := make([]result, 10)
	for i := range answers {
		wg.Go(func() { answers[i] = h.post(env) })
	}
	wg.Wait()
	jobIDs := map[string]bool{}
	for i, a := range answers {
		if !a.Success || len(a.Jobs) != 1 {
			t.Fatalf("answer %d: %+v", i, a)
		}
		jobIDs[a.jobs(t)[0].ID] = true
	}
	if runs.Load() != 1 || len(api.Tasks()) != 1 || api.TaskAttempts() != 1 || len(jobIDs) != 1 {
		t.Errorf("%d handler runs, %d tasks, %d API calls, %d jobs; want one of each", runs.Load(), len(api.Tasks()), api.TaskAttempts(), len(jobIDs))
	}
}

// Two replicas handling the same message (no shared store): both run the
// handler, the API sees each task's key twice and tasks each sensor once,
// whatever order the handler's goroutines ran in.
func TestReplicasSendTheSameKeys(t *testing.T) {
	api := stubapi.New(t)
	var runs atomic.Int32
	a := newHarness(t, api, surveyAll(&runs))
	b := newHarness(t, api, surveyAll(&runs))
	sids := []string{testSID, "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee", "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee"}
	env := requestEnvelope("mid-replicas", sids...)
	if res := a.post(env); !res.Success {
		t.Fatalf("replica a: %+v", res)
	}
	reversed := requestEnvelope("mid-replicas", sids[2], sids[1], sids[0])
	if res := b.post(reversed); !res.Success {
		t.Fatalf("replica b: %+v", res)
	}
	tasks := api.Tasks()
	if runs.Load() != 2 || api.TaskAttempts() != 6 || len(tasks) != 3 {
		t.Fatalf("%d runs, %d API calls, %d tasks; want 2, 6, 3", runs.Load(), api.TaskAttempts(), len(tasks))
	}
	seen := map[string]string{}
	for _, tk := range tasks {
		if other, dup := seen[tk.IdempotencyKey]; dup || tk.IdempotencyKey == "" {
			t.Errorf("key %q reused for %s and %s", tk.IdempotencyKey, other, tk.SID)
		}
		seen[tk.IdempotencyKey] = tk.SID
	}
	// Another message is other tasks.
	a.post(requestEnvelope("mid-other", testSID))
	if n := len(api.Tasks()); n != 4 {
		t.Errorf("%d tasks after a new message, want 4", n)
	}
}

func TestRepeatedTaskInOneHandlerIsTwoTasks(t *testing.T) {
	api := stubapi.New(t)
	h := newHarness(t, api, func(is *Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			for range 2 {
				if _, err := is.Task(ctx, req.Org(), testSID, "os_version", Then(func(context.Context, *Reply) service.Response { return service.OK(nil) })); err != nil {
					return service.Fail(err)
				}
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{})
	tasks := api.Tasks()
	if len(tasks) != 2 || tasks[0].IdempotencyKey == tasks[1].IdempotencyKey {
		t.Errorf("tasks = %+v", tasks)
	}
}

func TestTaskOutsideAHandlerGetsARandomKey(t *testing.T) {
	api := stubapi.New(t)
	h := newHarness(t, api, nil)
	h.is.HandleReply("h", func(context.Context, *Reply) service.Response { return service.OK(nil) })
	org := tasking.Org{ID: testOID, JWT: testJWT}
	for i := range 2 {
		if _, err := h.is.Task(context.Background(), org, testSID, "os_version", Via("h")); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	if tasks := api.Tasks(); len(tasks) != 2 || tasks[0].IdempotencyKey == tasks[1].IdempotencyKey {
		t.Errorf("tasks = %+v", tasks)
	}
}

// A handler run again in the same process while its first run's task is
// still pending (de-duplication off) gets the same task back.
func TestSameTaskPendingIsNotSentAgain(t *testing.T) {
	api := stubapi.New(t)
	var runs atomic.Int32
	h := newHarness(t, api, surveyAll(&runs), WithServiceOptions(service.WithDeliveryStore(nil)))
	env := requestEnvelope("mid-again", testSID)
	for i := range 3 {
		if res := h.post(env); !res.Success {
			t.Fatalf("delivery %d: %+v", i, res)
		}
	}
	if runs.Load() != 3 || api.TaskAttempts() != 1 || h.is.Stats().Pending.Pending != 1 {
		t.Errorf("%d runs, %d API calls, %d pending; want 3, 1, 1", runs.Load(), api.TaskAttempts(), h.is.Stats().Pending.Pending)
	}
}
