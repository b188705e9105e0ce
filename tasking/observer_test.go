package tasking

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type observed struct {
	kind            string
	status, attempt int
	d               time.Duration
}

type observations struct {
	mu  sync.Mutex
	all []observed
}

func (o *observations) observe(kind string, status, attempt int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all = append(o.all, observed{kind, status, attempt, d})
}

func TestObserverSeesEveryAttempt(t *testing.T) {
	api := newStubAPI(t, status(http.StatusServiceUnavailable, `{"error":"busy"}`), jsonBody("{}"))
	var obs observations
	c, _ := api.client(WithObserver(obs.observe))
	if err := c.Task(context.Background(), testOrg(), taskReq()); err != nil {
		t.Fatalf("Task: %v", err)
	}
	if len(obs.all) != 2 {
		t.Fatalf("observed %+v, want two attempts", obs.all)
	}
	if o := obs.all[0]; o.kind != KindTask || o.status != http.StatusServiceUnavailable || o.attempt != 1 || o.d <= 0 {
		t.Errorf("first attempt observed as %+v", o)
	}
	if o := obs.all[1]; o.kind != KindTask || o.status != http.StatusOK || o.attempt != 2 {
		t.Errorf("second attempt observed as %+v", o)
	}
}

func TestObserverKindsAndNoAnswer(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"), jsonBody("{}"), jsonBody("{}"))
	var obs observations
	c, _ := api.client(WithObserver(obs.observe), WithRetry(1, 0, 0))
	org := testOrg()
	ctx := context.Background()
	_ = c.PutRule(ctx, org, Rule{Name: "r", Namespace: "managed", Detect: []byte(`{"op":"is"}`), Respond: []byte(`[]`)})
	_ = c.DeleteRule(ctx, org, "managed", "r")
	_, _ = c.ListRules(ctx, org, "managed")
	var kinds []string
	for _, o := range obs.all {
		kinds = append(kinds, o.kind)
	}
	if got := strings.Join(kinds, ","); got != "rule_put,rule_delete,rule_list" {
		t.Errorf("kinds observed: %s", got)
	}

	// No answer: status 0. The observer never sees the JWT (it is not given it).
	dead := NewClient(WithBaseURL("http://127.0.0.1:1"), WithRetry(1, 0, 0))
	var none observations
	if err := dead.Observed(none.observe).Task(ctx, org, taskReq()); err == nil {
		t.Fatal("Task to a closed port succeeded")
	}
	if len(none.all) != 1 || none.all[0].status != 0 {
		t.Errorf("observed %+v, want one attempt without status", none.all)
	}
}

func TestObservedChainsAndKeepsOriginal(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"))
	var first, second observations
	c, _ := api.client(WithObserver(first.observe))
	o := c.Observed(second.observe)
	if err := o.Task(context.Background(), testOrg(), taskReq()); err != nil {
		t.Fatal(err)
	}
	if len(first.all) != 1 || len(second.all) != 1 {
		t.Fatalf("first %+v, second %+v: want both told", first.all, second.all)
	}
	if c.observer == nil || o == c {
		t.Fatal("Observed changed the original client")
	}
}
