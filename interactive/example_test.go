package interactive_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// An interactive service is one value: it holds the request handler that
// tasks a sensor and the closure that handles the sensor's answer. Here it
// runs against lctest's emulated cloud, which answers like a real sensor.
func ExampleNew() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})

	svc, err := interactive.New("os-version", "the-shared-secret",
		interactive.WithAPIURL(cloud.URL()), // production: os.Getenv("LC_API_URL"), or nothing
		interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Shutdown(ctx)
	svc.SetRequestParams(service.Params{"sid": {Type: service.ParamSID, Description: "sensor to ask", Required: true}})
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		_, err := svc.Task(ctx, req.Org(), req.SID(), "os_version",
			interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
				var v struct {
					Build int `json:"BUILD_NUMBER"`
				}
				if err := r.Decode(&v); err != nil {
					return service.Fail(err)
				}
				fmt.Printf("%s answered %s: build %d\n", r.Hostname, r.EventType, v.Build)
				return service.OK(nil)
			}))
		if err != nil {
			return service.FailOrRetry(err)
		}
		return service.OK(nil)
	})

	reg, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "os-version", Secret: "the-shared-secret", Handler: svc})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Install(ctx, org); err != nil { // the service stores its D&R rule
		log.Fatal(err)
	}
	if _, err := reg.Request(ctx, org, map[string]any{"sid": host.SID}); err != nil {
		log.Fatal(err)
	}
	if err := cloud.WaitIdle(ctx); err != nil { // the answer came back through the rule
		log.Fatal(err)
	}
	fmt.Printf("tasked %d, routed to closures %d\n", svc.Stats().Tasked, svc.Stats().RoutedClosure)
	// Output:
	// web-1 answered OS_VERSION_REP: build 14
	// tasked 1, routed to closures 1
}

// Task with a closure and a job: the closure narrates the answer on the
// task's job and closes it, and the update rides the response to the
// detection that carried the reply.
func ExampleService_Task() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "db-1", Platform: lctest.Linux})

	svc, err := interactive.New("users", "the-shared-secret", interactive.WithAPIURL(cloud.URL()),
		interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Shutdown(ctx)
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		job := jobs.New()
		job.SetCause("user list requested")
		job.AddSensor(req.SID())
		job.Narrate("asking the sensor for its users", false)
		_, err := svc.Task(ctx, req.Org(), req.SID(), "os_users",
			interactive.WithJob(job),
			interactive.Then(func(ctx context.Context, r *interactive.Reply) service.Response {
				var rep struct {
					Users []struct {
						Name string `json:"USER_NAME"`
					} `json:"USERS"`
				}
				if err := r.Decode(&rep); err != nil {
					return service.Fail(err)
				}
				r.Job.Narrate(fmt.Sprintf("%s has %d users", r.Hostname, len(rep.Users)), false)
				r.Job.Close()
				fmt.Printf("job %v: %d users on %s, closed\n", r.Job.ID() == job.ID(), len(rep.Users), r.Hostname)
				return service.OK(nil) // the job's update is sent with this response
			}))
		if err != nil {
			return service.FailOrRetry(err)
		}
		return service.OK(nil).WithJobs(job)
	})

	reg, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "users", Secret: "the-shared-secret", Handler: svc})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Install(ctx, org); err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Request(ctx, org, map[string]any{"sid": host.SID}); err != nil {
		log.Fatal(err)
	}
	if err := cloud.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// job true: 3 users on db-1, closed
}

// A named reply handler serves the answer on any replica, even after a
// restart: register it at start-up and name it in the task. Small state
// travels in the signed token. Here a second process, which never saw the
// task, handles the answer.
func ExampleService_HandleReply() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-2", Platform: lctest.Linux})

	type target struct {
		Path string `json:"path"`
	}
	newProcess := func() *interactive.Service {
		svc, err := interactive.New("hasher", "the-shared-secret", interactive.WithAPIURL(cloud.URL()),
			interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
		if err != nil {
			log.Fatal(err)
		}
		svc.HandleReply("hashed", func(ctx context.Context, r *interactive.Reply) service.Response {
			var t target
			if err := r.State(&t); err != nil {
				return service.Fail(err)
			}
			var rep struct {
				Hash string `json:"HASH"`
			}
			if err := r.Decode(&rep); err != nil {
				return service.Fail(err)
			}
			fmt.Printf("%s: %s has a %d-digit sha256\n", r.Hostname, t.Path, len(rep.Hash))
			return service.OK(nil)
		})
		svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			path := req.String("path")
			_, err := svc.Task(ctx, req.Org(), req.SID(), interactive.CommandLine("file_hash", path),
				interactive.Via("hashed"), interactive.WithState(target{Path: path}))
			if err != nil {
				return service.FailOrRetry(err)
			}
			return service.OK(nil)
		})
		return svc
	}

	first := newProcess()
	reg, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "hasher", Secret: "the-shared-secret", Handler: first})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Install(ctx, org); err != nil {
		log.Fatal(err)
	}
	// The sensor holds its answer until the first process is gone.
	gone := make(chan struct{})
	host.Answer("file_hash", func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
		<-gone
		return lctest.BuiltinAnswer(s, cmd)
	})
	if _, err := reg.Request(ctx, org, map[string]any{"sid": host.SID, "path": "/usr/bin/bash"}); err != nil {
		log.Fatal(err)
	}
	first.Shutdown(ctx) // the first process goes away with its pending task
	second := newProcess()
	defer second.Shutdown(ctx)
	reg.SetHandler(second)
	close(gone)
	if err := cloud.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("routed by name:", second.Stats().RoutedNamed)
	// Output:
	// web-2: /usr/bin/bash has a 64-digit sha256
	// routed by name: 1
}
