package lctest_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lcsvc/lcservice/lctest"
)

// Three replicas of a service behind the cloud's round-robin load
// balancer: replica 1 exits and is restarted, and a request whose
// response was lost is delivered again, with the same mid, to another
// replica.
func ExampleServiceConfig_replicas() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	svc, err := cloud.Register(ctx, lctest.ServiceConfig{
		Name:     "triage",
		Secret:   "s3cret",
		Replicas: []http.Handler{exampleHandler("s3cret"), exampleHandler("s3cret"), exampleHandler("s3cret")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	must := func(_ lctest.Response, err error) {
		if err != nil {
			fmt.Println(err)
		}
	}
	must(svc.Install(ctx, org))
	must(svc.Request(ctx, org, map[string]any{"n": 1}))
	if err := svc.StopReplica(1); err != nil { // replica 1 exits
		fmt.Println(err)
	}
	must(svc.Request(ctx, org, map[string]any{"n": 2}))
	must(svc.Request(ctx, org, map[string]any{"n": 3}))
	must(svc.Redeliver(ctx, svc.Exchanges()[2])) // the first request again
	if err := svc.StartReplica(1, exampleHandler("s3cret")); err != nil {
		fmt.Println(err)
	}
	must(svc.Request(ctx, org, map[string]any{"n": 4}))

	mids := map[string]int{}
	for _, x := range svc.Exchanges() {
		if _, ok := mids[x.MID]; !ok {
			mids[x.MID] = len(mids) + 1
		}
		fmt.Printf("%-11s mid #%d attempt %d: replica %d\n", x.EType, mids[x.MID], x.Attempt, x.Replica)
	}
	// Output:
	// health      mid #1 attempt 1: replica 0
	// org_install mid #2 attempt 1: replica 1
	// request     mid #3 attempt 1: replica 2
	// request     mid #4 attempt 1: replica 0
	// request     mid #5 attempt 1: replica 2
	// request     mid #3 attempt 2: replica 0
	// request     mid #6 attempt 1: replica 1
}
