package interactive_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// A request tasks os_version on a sensor; a closure handles the answer.
func ExampleService_Task() {
	svc, err := service.New("versions", "the-shared-secret")
	if err != nil {
		log.Fatal(err)
	}
	is, err := interactive.New(svc)
	if err != nil {
		log.Fatal(err)
	}
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		job := jobs.New()
		job.SetCause("OS version requested")
		job.AddSensor(req.SID())
		_, err := is.Task(ctx, req, req.SID(), "os_version",
			interactive.WithJob(job),
			interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
				var v struct {
					Build int `json:"BUILD_NUMBER"`
				}
				if err := r.Decode(&v); err != nil {
					return service.Fail(err)
				}
				r.Job.Narrate(fmt.Sprintf("%s runs build %d", r.Hostname, v.Build), false)
				r.Job.Close()
				return service.OK(nil)
			}))
		if err != nil {
			return service.Fail(err)
		}
		return service.OK(nil).WithJobs(job)
	})
	fmt.Println(svc.Name())
	// Output: versions
}

// A named handler serves the answer on any replica, even after a restart:
// register it at start-up and name it in the task. Small state travels in
// the signed token.
func ExampleService_Handle() {
	svc, _ := service.New("killer", "the-shared-secret")
	is, _ := interactive.New(svc)
	type target struct {
		PID int `json:"pid"`
	}
	_ = is.Handle("killed", func(ctx context.Context, r *interactive.Reply) service.Response {
		var t target
		if err := r.State(&t); err != nil {
			return service.Fail(err)
		}
		if r.Err != nil {
			r.Job.Narrate(fmt.Sprintf("could not kill %d: %v", t.PID, r.Err), true)
		} else {
			r.Job.Narrate(fmt.Sprintf("process %d killed", t.PID), false)
		}
		r.Job.Close()
		return service.OK(nil)
	})
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		pid, _ := req.Int("pid")
		job := jobs.New()
		job.SetCause("kill requested")
		_, err := is.Task(ctx, req, req.SID(), interactive.CommandLine("os_kill_process", "-p", fmt.Sprint(pid)),
			interactive.Via("killed"), interactive.WithJob(job), interactive.WithState(target{PID: int(pid)}))
		if err != nil {
			return service.Fail(err)
		}
		return service.OK(nil).WithJobs(job)
	})
	fmt.Println("ready")
	// Output: ready
}
