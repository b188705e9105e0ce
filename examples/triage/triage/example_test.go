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
	// The job merged across every response reads as the service
	// narrated it, whatever order the responses came back in.
	job, _ := svc.Job(res.Jobs[0].ID)
	fmt.Println(job.Cause)
	for _, e := range job.Hist {
		fmt.Println("-", e.Msg)
	}
	// Output:
	// tasked: os_processes
	// tasked: file_hash /home/grace/Downloads/backup-tool
	// tasked: file_hash /tmp/.cache-z2lg3h/kworkerd
	// triage of suspicious-execution on web-1
	// - suspicious-execution reported on web-1; listing its processes
	// - 2 of 9 processes on web-1 run from outside the system directories
	// - file 1 of 2: /home/grace/Downloads/backup-tool (pid 1959) is unsigned, sha256 16928d4046c2bf7d51c5b7e31a3c14696dd926d529fa5a5f6a00bad3de2d56f5
	// - file 2 of 2: /tmp/.cache-z2lg3h/kworkerd (pid 2010) is unsigned, sha256 f2f7cd417970fe24d52a5f7d9eea26714da18bb3b8029b825261319120a53af6
	// - triage of web-1 finished: 2 of 2 files hashed (0 signed, 2 unsigned); 0 could not be hashed
}
