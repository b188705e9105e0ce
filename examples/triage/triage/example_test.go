package triage_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/examples/triage/triage"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// The triage service run in-process against the emulated cloud: a
// detection on a Linux host lists its processes and hashes the two that run
// from outside the system directories.
func ExampleNew() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()

	is, err := triage.New("the-shared-secret", triage.Options{
		Interactive: []interactive.Option{interactive.WithAPIURL(cloud.URL()), interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard))},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer is.Shutdown(ctx)

	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: triage.Name, Secret: "the-shared-secret", Handler: is})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Install(ctx, org); err != nil { // stores the replicant rule
		log.Fatal(err)
	}
	routing := lctest.Routing{OID: org.OID, SID: host.SID, Hostname: "web-1", EventType: "NEW_PROCESS",
		EventTime: time.Now().UnixMilli(), Plat: lctest.Linux}
	res, err := svc.Deliver(ctx, "detection", org, lctest.Detection{
		Cat: triage.DefaultDetection, Source: "dr-general", Routing: routing,
		Detect: map[string]any{"FILE_PATH": "/home/grace/Downloads/backup-tool"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := cloud.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	for _, task := range org.Tasks() {
		fmt.Println("tasked:", strings.Join(task.Commands, " "))
	}
	job, _ := svc.Job(res.Jobs[0].ID)
	fmt.Println(job.Cause)
	fmt.Println(job.Hist[len(job.Hist)-1].Msg)
	// Output:
	// tasked: os_processes
	// tasked: file_hash /home/grace/Downloads/backup-tool
	// tasked: file_hash /tmp/.cache-z2lg3h/kworkerd
	// triage of suspicious-execution on web-1
	// triage of web-1 finished: 2 of 2 files hashed (0 signed, 2 unsigned); 0 could not be hashed
}
