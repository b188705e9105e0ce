package lctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lcsvc/lcservice/lctest"
)

// A service under test: a stand-in handler that checks the signature and
// answers health with its detection subscription. A real test would pass
// the framework's service instead.
func exampleHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !lctest.VerifySignature([]byte(secret), body, r.Header.Get(lctest.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var env struct{ Etype string }
		_ = json.Unmarshal(body, &env)
		data := map[string]any{}
		if env.Etype == "health" {
			data["mtd"] = map[string]any{"detect_subscriptions": []string{"__svc-triage-ex"}}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
	})
}

func ExampleNewCloud() {
	ctx := context.Background()
	cloud := lctest.NewCloud()
	defer cloud.Close()

	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "triage", Secret: "s3cret", Handler: exampleHandler("s3cret")})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := svc.Install(ctx, org); err != nil {
		fmt.Println(err)
		return
	}

	// What the service does through the REST API: store its replicant
	// rule, then task the sensor. (A real test lets the service do it.)
	call := func(path string, form url.Values) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cloud.URL()+path, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "bearer "+org.JWT)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	call("/v1/hive/dr-managed/"+org.OID+"/svc-triage-ex/data", url.Values{
		"data": {`{"detect":{"op":"and","rules":[
			{"op":"starts with","path":"routing/investigation_id","value":"svc-triage-ex/"},
			{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]},
			"respond":[{"action":"report","name":"__svc-triage-ex"}]}`},
		"usr_mtd": {`{"enabled":true}`},
	})
	call("/v1/"+host.SID, url.Values{"tasks": {"os_packages"}, "investigation_id": {"svc-triage-ex/42"}})

	if err := cloud.WaitIdle(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range svc.Detections() {
		fmt.Println(d.Cat, d.Routing.EventType, d.Routing.InvestigationID, d.Routing.Hostname)
	}
	fmt.Println(len(org.Tasks()), "task,", len(org.Rules()), "rule")
	// Output:
	// __svc-triage-ex OS_PACKAGES_REP svc-triage-ex/42 web-1
	// 1 task, 1 rule
}

// The fault hook fails chosen API calls, here a rate limit on the next
// task call: the call is not served, so the client's retry tasks the
// sensor once.
func ExampleCloud_FailNext() {
	cloud := lctest.NewCloud()
	defer cloud.Close()
	org := cloud.NewOrg("acme")
	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"X-Ratelimit-Period": {"1"}}})

	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, cloud.URL()+"/v1/"+host.SID, strings.NewReader("tasks=os_version"))
		req.Header.Set("Authorization", "bearer "+org.JWT)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%s, X-RateLimit-Period %q\n", resp.Status, resp.Header.Get("X-RateLimit-Period"))
	}
	fmt.Println(len(org.Tasks()), "task")
	// Output:
	// 429 Too Many Requests, X-RateLimit-Period "1"
	// 200 OK, X-RateLimit-Period ""
	// 1 task
}
