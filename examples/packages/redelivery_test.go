package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// The same request (one mid) delivered ten times at once to the running
// example: one task, one job, the same answer ten times.
func TestRedeliveredRequestTasksOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	ctx := t.Context()
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	sensor := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	url := exampletest.Start(t, "LC_SHARED_SECRET="+blackBoxSecret, "LC_API_URL="+cloud.URL())
	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "package-survey", Secret: blackBoxSecret, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Install(ctx, org); err != nil || !res.Success {
		t.Fatalf("install: %+v %v", res, err)
	}

	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": org.OID, "mid": "one-message", "jwt": org.JWT,
		"deadline": time.Now().Add(590 * time.Second).Unix(), "etype": "request", "data": map[string]any{"sid": sensor.SID},
	})
	answers := make([]string, 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set(service.SignatureHeader, service.Sign([]byte(blackBoxSecret), body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			answers[i] = buf.String()
		})
	}
	wg.Wait()
	if err := cloud.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for i, a := range answers {
		if a != answers[0] {
			t.Errorf("answer %d differs:\n%s\n%s", i, a, answers[0])
		}
	}
	var first struct {
		Success bool
		Jobs    []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(answers[0]), &first); err != nil || !first.Success || len(first.Jobs) != 1 {
		t.Fatalf("answer %s: %v", answers[0], err)
	}
	if tasks := org.Tasks(); len(tasks) != 1 {
		t.Errorf("%d tasks for one message delivered ten times: %+v", len(tasks), tasks)
	}
	if job, ok := svc.Job(first.Jobs[0].ID); !ok || job.End == 0 {
		t.Errorf("the job was not closed by the sensor's answer: %+v", job)
	}
}
