package main

// The "external program": the example is built and run as its own
// process with LC_API_URL pointing at an emulated cloud, and driven only
// through the wire protocol.

import (
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/lctest"
)

const blackBoxSecret = "black-box-secret"

func TestBlackBoxFullLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	ctx := t.Context()
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	sensor := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})

	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "package-survey", Secret: blackBoxSecret, URL: exampletest.Start(t, "LC_SHARED_SECRET="+blackBoxSecret, "LC_API_URL="+cloud.URL())})
	if err != nil {
		t.Fatal(err)
	}

	// org_install → the replicant rule is stored.
	if res, err := svc.Install(ctx, org); err != nil || !res.Success {
		t.Fatalf("install: %+v %v", res, err)
	}
	rule, ok := org.Rule("managed", "svc-package-survey-ex")
	if !ok || !rule.Enabled || !strings.Contains(string(rule.Detect), `"svc-package-survey-ex/"`) {
		t.Fatalf("rule = %+v (stored %v)", rule, ok)
	}

	// request → a task whose investigation_id carries our prefix.
	res, err := svc.Request(ctx, org, map[string]any{"sid": sensor.SID})
	if err != nil || !res.Success || len(res.Jobs) != 1 {
		t.Fatalf("request: %+v %v", res, err)
	}
	jobID := res.Jobs[0].ID
	if err := cloud.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	tasks := org.Tasks()
	if len(tasks) != 1 || tasks[0].Commands[0] != "os_packages" || !strings.HasPrefix(tasks[0].InvestigationID, "svc-package-survey-ex/") {
		t.Fatalf("tasks = %+v", tasks)
	}
	t.Logf("investigation_id: %d bytes", len(tasks[0].InvestigationID))

	// The detection carrying that id → the job closed in the response.
	dets := svc.Detections()
	if len(dets) != 1 {
		t.Fatalf("%d detections, want the OS_PACKAGES_REP one", len(dets))
	}
	job, _ := svc.Job(jobID)
	if job.End == 0 || len(job.Hist) < 2 {
		t.Fatalf("job after the answer: %+v", job)
	}

	// A tampered id → not routed. A second sensor stays silent, so the
	// test plays its answer: first with a tampered id (no job update),
	// then with the genuine one (the job closes).
	quiet := org.AddSensor(lctest.SensorConfig{Hostname: "web-2", Platform: lctest.Linux})
	quiet.Answer("os_packages", func(*lctest.Sensor, lctest.Command) []lctest.Event { return nil })
	res, err = svc.Request(ctx, org, map[string]any{"sid": quiet.SID})
	if err != nil || !res.Success {
		t.Fatalf("second request: %+v %v", res, err)
	}
	quietJob := res.Jobs[0].ID
	if err := cloud.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	inv := org.Tasks()[1].InvestigationID
	answer := func(investigationID string) lctest.Response {
		routing := lctest.Routing{
			OID: org.OID, SID: quiet.SID, Hostname: "web-2", EventType: "OS_PACKAGES_REP",
			EventTime: time.Now().UnixMilli(), EventID: "ev-1", Plat: lctest.Linux, InvestigationID: investigationID,
		}
		d := lctest.Detection{
			Cat: "__svc-package-survey-ex", Source: "dr-managed", SourceRule: "svc-package-survey-ex", Namespace: "managed",
			DetectID: "d-1", Routing: routing, GenTime: time.Now().UnixMilli(),
			Detect: map[string]any{
				"PACKAGES": []any{map[string]any{"PACKAGE_NAME": "openssl", "PACKAGE_VERSION": "3.0.2"}},
			},
		}
		res, err := svc.Deliver(ctx, "detection", org, d)
		if err != nil || !res.Success {
			t.Fatalf("detection: %+v %v", res, err)
		}
		return res
	}
	tampered := []byte(inv)
	if tampered[len(tampered)-3] == 'A' { // another valid base64url letter: the tag must catch it
		tampered[len(tampered)-3] = 'B'
	} else {
		tampered[len(tampered)-3] = 'A'
	}
	if res := answer(string(tampered)); len(res.Jobs) != 0 {
		t.Fatalf("a tampered id was routed: %+v", res)
	}
	if j, _ := svc.Job(quietJob); j.End != 0 {
		t.Fatal("the job closed on a tampered id")
	}
	if res := answer(inv); len(res.Jobs) != 1 || res.Jobs[0].ID != quietJob || res.Jobs[0].End == 0 {
		t.Fatalf("the genuine id was not routed: %+v", res)
	}
}
