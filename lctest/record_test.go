package lctest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNewClosesWithTheTest checks New registers Close as a cleanup.
func TestNewClosesWithTheTest(t *testing.T) {
	var svc *Service
	t.Run("inner", func(t *testing.T) {
		svc = register(t, New(t), &fakeService{})
	})
	if _, err := svc.Health(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Health after the test that made the cloud = %v, want ErrClosed", err)
	}
}

// TestViewsAreTheRecord checks that tasks, events, exchanges, detections
// and jobs are what the one record holds, in its order.
func TestViewsAreTheRecord(t *testing.T) {
	var observed []ActivityKind
	c := newTestCloud(t, WithObserver(func(a Activity) { observed = append(observed, a.Kind) }))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux})
	f := &fakeService{subs: []string{"__svc-svc-ex"}, answer: func(env map[string]any) any {
		return map[string]any{"success": true, "jobs": []any{map[string]any{"id": "j1", "hist": []any{map[string]any{"ts": 1, "msg": env["etype"]}}}}}
	}}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	a.task(org, s.SID, "svc-svc-ex/1", "os_version")
	waitIdle(t, c)

	record := c.Activities()
	var kinds []ActivityKind
	for _, act := range record {
		kinds = append(kinds, act.Kind)
	}
	if !slices.Equal(kinds, observed) {
		t.Errorf("the observer saw %v, the record holds %v", observed, kinds)
	}
	count := func(k ActivityKind) int {
		n := 0
		for _, act := range record {
			if act.Kind == k {
				n++
			}
		}
		return n
	}
	if n := len(org.Tasks()); n != 1 || n != count(ActivityTask) {
		t.Errorf("%d tasks, %d in the record", n, count(ActivityTask))
	}
	if n := len(s.Events()); n != 2 || n != count(ActivityEvent) {
		t.Errorf("%d events, %d in the record", n, count(ActivityEvent))
	}
	if n := len(svc.Exchanges()); n != 3 || n != count(ActivityResponse) { // health, install, detection
		t.Errorf("%d exchanges, %d in the record", n, count(ActivityResponse))
	}
	if n := len(svc.Detections()); n != 1 || n != count(ActivityDetection) {
		t.Errorf("%d detections, %d in the record", n, count(ActivityDetection))
	}
	j, ok := svc.Job("j1")
	if !ok || len(j.Hist) != 2 || j.Hist[0].Msg != "org_install" || j.Hist[1].Msg != "detection" {
		t.Errorf("job j1 = %+v", j)
	}
	if ev := s.Events(); ev[1].Routing.EventType != "OS_VERSION_REP" || ev[1].Event["BUILD_NUMBER"] == nil {
		t.Errorf("events = %+v", ev)
	}
}

// TestFailNextRulesAndDrops checks the fault hook on rule calls and on
// dropped connections, through the cloud.
func TestFailNextRulesAndDrops(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})

	c.FailNext(CallRulePut, 1, Fault{Status: http.StatusForbidden})
	form := url.Values{"data": {`{"detect":{"op":"exists","path":"event"},"respond":[]}`}, "usr_mtd": {`{"enabled":true}`}}
	path := "/v1/hive/dr-managed/" + org.OID + "/r/data"
	if status, _, _ := a.do(org.JWT, http.MethodPost, path, form, nil); status != 403 {
		t.Fatalf("rule put: HTTP %d, want the injected 403", status)
	}
	if _, ok := org.Rule("managed", "r"); ok {
		t.Fatal("a refused rule put stored the rule")
	}
	if status, _, _ := a.do(org.JWT, http.MethodPost, path, form, nil); status != 200 {
		t.Fatalf("rule put after the fault: HTTP %d", status)
	}

	c.FailNext(CallTask, 1, Fault{Drop: true, Delay: 10 * time.Millisecond})
	req, _ := http.NewRequestWithContext(testContext(t), http.MethodPost, c.URL()+"/v1/"+s.SID, strings.NewReader("tasks=os_version"))
	req.Header.Set("Authorization", "bearer "+org.JWT)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := a.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped task call was answered HTTP %d", resp.StatusCode)
	}
	if len(org.Tasks()) != 0 {
		t.Fatal("a dropped task call tasked the sensor")
	}
	faults := rec.kind(ActivityFault)
	if len(faults) != 2 || !strings.HasPrefix(faults[0].What, "rule.put POST") || faults[1].SID != s.SID ||
		!strings.Contains(faults[1].Err.Error(), "dropped the connection") {
		t.Errorf("faults recorded: %+v", faults)
	}
}
