package lctest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/bubble"
)

// A handler that tasks a sensor and goes on working until the continuation
// has been answered returns its own response last. The merged job must
// still read in the order the service narrated it, which the timestamps
// cannot tell when every entry falls in the same millisecond.
func TestJobReadsInNarrativeOrderWhenResponsesComeBackOutOfOrder(t *testing.T) {
	answered := make(chan struct{})
	var once sync.Once
	c := newTestCloud(t, WithObserver(func(a Activity) {
		if a.Kind == ActivityResponse && a.What == "detection" {
			once.Do(func() { close(answered) })
		}
	}))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	const (
		id    = "0f6c1a2e-7b1d-4c3b-9a7e-1d2c3b4a5f60"
		other = "1a2b3c4d-0000-4000-8000-000000000001"
		ms    = 1700000000000 // one millisecond for every entry
	)
	entry := func(msg string) map[string]any { return map[string]any{"ts": ms, "msg": msg, "is_important": false} }
	f := &fakeService{subs: []string{"__svc-svc-ex"}}
	f.answer = func(env map[string]any) any {
		switch env["etype"] {
		case "request":
			// Runs on the test's goroutine: a.task may fail the test.
			a.task(org, s.SID, "svc-svc-ex/u", "os_version")
			select {
			case <-answered:
			case <-time.After(bubble.WaitLimit(t)):
				return map[string]any{"success": false, "error": "the continuation was never answered"}
			}
			return map[string]any{"success": true, "data": map[string]any{}, "jobs": []any{
				map[string]any{"id": id, "start": ms, "cause": "asked", "sid": []string{s.SID},
					"hist": []any{entry("1 asked"), entry("2 tasked os_version")}},
			}}
		case "detection":
			return map[string]any{"success": true, "data": map[string]any{}, "jobs": []any{
				map[string]any{"id": other, "start": ms, "cause": "a job of the continuation's own"},
				map[string]any{"id": id, "cause": "answered", "end": ms,
					"hist": []any{entry("3 the sensor answered"), entry("4 done")}},
			}}
		}
		return map[string]any{"success": true, "data": map[string]any{}}
	}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	if _, err := svc.Request(testContext(t), org, nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, c)

	// The premise: the continuation's response was recorded first.
	var etypes []string
	for _, x := range svc.Exchanges() {
		etypes = append(etypes, x.EType)
	}
	if got := strings.Join(etypes, " "); !strings.HasSuffix(got, "detection request") {
		t.Fatalf("exchanges recorded as %q; the test needs the detection's answer before the request's", got)
	}

	j, ok := svc.Job(id)
	if !ok {
		t.Fatal("job not found")
	}
	var msgs []string
	for _, e := range j.Hist {
		msgs = append(msgs, e.Msg)
	}
	if got, want := strings.Join(msgs, " | "), "1 asked | 2 tasked os_version | 3 the sensor answered | 4 done"; got != want {
		t.Errorf("merged history\n got %s\nwant %s", got, want)
	}
	// The later update's cause wins, however late the earlier one arrived.
	if j.Cause != "answered" || j.Start != ms || j.End != ms || len(j.Sensors) != 1 {
		t.Errorf("merged job = %+v", j)
	}
	var ids []string
	for _, j := range svc.Jobs() {
		ids = append(ids, j.ID)
	}
	if got, want := fmt.Sprint(ids), fmt.Sprint([]string{id, other}); got != want {
		t.Errorf("Jobs() in the order %v, want %v (the order the service started them)", got, want)
	}
}

// Timestamps still come first: an entry narrated in an earlier millisecond
// reads first, whichever delivery carried it.
func TestJobHistoryOrderedByTimeFirst(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	const id = "6f1c2a0e-1111-4222-8333-944445555666"
	answers := []any{
		map[string]any{"success": true, "jobs": []any{map[string]any{"id": id, "start": 1000, "cause": "c",
			"hist": []any{map[string]any{"ts": 2000, "msg": "later"}}}}},
		map[string]any{"success": true, "jobs": []any{map[string]any{"id": id,
			"hist": []any{map[string]any{"ts": 1500, "msg": "earlier"}, map[string]any{"ts": 2000, "msg": "same ms, sent second"}}}}},
	}
	n := 0
	f := &fakeService{answer: func(map[string]any) any { a := answers[n]; n++; return a }}
	svc := register(t, c, f)
	svc.setInstalled(org.OID, true)
	for range answers {
		if _, err := svc.Request(testContext(t), org, nil); err != nil {
			t.Fatal(err)
		}
	}
	j, _ := svc.Job(id)
	var msgs []string
	for _, e := range j.Hist {
		msgs = append(msgs, e.Msg)
	}
	if got, want := strings.Join(msgs, " | "), "earlier | later | same ms, sent second"; got != want {
		t.Errorf("merged history\n got %s\nwant %s", got, want)
	}
}
