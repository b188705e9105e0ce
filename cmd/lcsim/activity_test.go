package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/lctest"
)

func TestNarrator(t *testing.T) {
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	book := newSensorBook()
	web := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
	laptop := org.AddSensor(lctest.SensorConfig{Hostname: "laptop-7", Offline: true})
	book.add(web)
	book.add(laptop)

	detectionWebhook := `{"etype":"detection","data":{"routing":{"sid":"` + web.SID + `","event_type":"OS_PACKAGES_REP"}}}`
	table := `{"att_type":"table","caption":"pkgs","headers":["package"],"rows":[["bash"],["curl"]]}`
	closing := `{"success":true,"data":{},"jobs":[{"id":"1a2b3c4d-0000-0000-0000-000000000000","end":5,"hist":[{"ts":1,"msg":"web-1 has 2 packages","attachments":[` + table + `],"is_important":false}]}]}`
	cases := []struct {
		name    string
		verbose bool
		acts    []lctest.Activity
		want    string
	}{
		{"task", false, []lctest.Activity{{Kind: lctest.ActivityTask, SID: web.SID, What: "os_packages"}},
			"→ task os_packages to web-1 (linux)"},
		{"task to an offline sensor", false, []lctest.Activity{{Kind: lctest.ActivityTask, SID: laptop.SID, What: "os_version"}},
			"→ task os_version to laptop-7 (windows) — offline, it will not answer"},
		{"task refused, unknown sensor", false, []lctest.Activity{{Kind: lctest.ActivityTaskRefused, SID: "nope", What: "netstat", Err: errors.New("429")}},
			"✗ task netstat to nope refused: 429"},
		{"fault", false, []lctest.Activity{{Kind: lctest.ActivityFault, SID: web.SID, What: "task POST /v1/x", Err: errors.New("injected fault: answered HTTP 429")}},
			"! API call task POST /v1/x: injected fault: answered HTTP 429"},
		{"reply with lists", false, []lctest.Activity{{Kind: lctest.ActivityEvent, SID: web.SID, What: "OS_PACKAGES_REP",
			Body: json.RawMessage(`{"event":{"PACKAGES":[{},{}],"EMPTY":[],"N":3}}`)}},
			"← OS_PACKAGES_REP from web-1 (0 empty, 2 packages)"},
		{"receipt", false, []lctest.Activity{{Kind: lctest.ActivityEvent, SID: web.SID, What: "RECEIPT",
			Body: json.RawMessage(`{"event":{"ERROR":5,"ERROR_MESSAGE":"access denied"}}`)}},
			"← RECEIPT from web-1 (ERROR 5: access denied)"},
		{"notification hidden", false, []lctest.Activity{{Kind: lctest.ActivityEvent, SID: web.SID, What: "CLOUD_NOTIFICATION",
			Body: json.RawMessage(`{"event":{"NOTIFICATION_ID":"OS_PACKAGES_REQ"}}`)}}, ""},
		{"notification shown", true, []lctest.Activity{{Kind: lctest.ActivityEvent, SID: web.SID, What: "CLOUD_NOTIFICATION",
			Body: json.RawMessage(`{"event":{"NOTIFICATION_ID":"OS_PACKAGES_REQ"}}`)}},
			"· web-1 received the task (OS_PACKAGES_REQ)"},
		{"detection shown", true, []lctest.Activity{{Kind: lctest.ActivityDetection, SID: web.SID, What: "__svc-x-ex",
			Body: json.RawMessage(`{"routing":{"event_type":"OS_PACKAGES_REP"}}`)}},
			"⇢ detection __svc-x-ex (OS_PACKAGES_REP from web-1)"},
		{"detection hidden", false, []lctest.Activity{{Kind: lctest.ActivityDetection, SID: web.SID, What: "__svc-x-ex"}}, ""},
		{"health is never shown", true, []lctest.Activity{
			{Kind: lctest.ActivityWebhook, What: "health", MID: "m"},
			{Kind: lctest.ActivityResponse, What: "health", MID: "m", Err: errors.New("refused")}}, ""},
		{"redelivery", true, []lctest.Activity{{Kind: lctest.ActivityWebhook, What: "request", Service: "svc", MID: "m", Attempt: 2}},
			"» request webhook to svc (redelivery, attempt 2)"},
		{"failed answer shown even when not verbose", false, []lctest.Activity{
			{Kind: lctest.ActivityResponse, What: "request", Body: json.RawMessage(`{"success":false,"error":"missing parameter sid"}`)}},
			"✗ request answered: failed: missing parameter sid"},
		{"retry asked", false, []lctest.Activity{
			{Kind: lctest.ActivityResponse, What: "detection", Body: json.RawMessage(`{"success":false,"retry":true,"error":"busy"}`)}},
			"✗ detection answered: failed, retry asked: busy"},
		{"transport failure", false, []lctest.Activity{
			{Kind: lctest.ActivityResponse, What: "request", Service: "svc", Err: errors.New("answered HTTP 500")}},
			"✗ request webhook to svc failed: answered HTTP 500"},
		{"garbage answer", false, []lctest.Activity{{Kind: lctest.ActivityResponse, What: "request", Body: json.RawMessage(`nope`)}},
			"✗ request answer is not a response: …"},
		{"job closed, sensor from the detection", false, []lctest.Activity{
			{Kind: lctest.ActivityWebhook, What: "detection", MID: "m1", Body: json.RawMessage(detectionWebhook)},
			{Kind: lctest.ActivityResponse, What: "detection", MID: "m1", Body: json.RawMessage(closing)}},
			"✓ job 1a2b3c4d closed (web-1)"},
		{"job entries and closing, verbose", true, []lctest.Activity{
			{Kind: lctest.ActivityWebhook, What: "detection", Service: "svc", MID: "m1", Body: json.RawMessage(detectionWebhook)},
			{Kind: lctest.ActivityResponse, What: "detection", MID: "m1", Body: json.RawMessage(closing)}},
			`» detection webhook to svc
« detection answered: success
  job 1a2b3c4d · web-1 has 2 packages
      pkgs (table, 2 rows)
        package
        bash
        … 1 more row
✓ job 1a2b3c4d closed (web-1)`},
		{"job sensor from the new job", false, []lctest.Activity{
			{Kind: lctest.ActivityResponse, What: "request", Body: json.RawMessage(`{"success":true,"jobs":[{"id":"j-1","sid":["` + laptop.SID + `"]}]}`)},
			{Kind: lctest.ActivityResponse, What: "org_per_1h", Body: json.RawMessage(`{"success":true,"jobs":[{"id":"j-1","end":9}]}`)}},
			"✓ job j closed (laptop-7)"},
		{"rule error", false, []lctest.Activity{{Kind: lctest.ActivityRuleError, What: "bad-rule", Err: errors.New("unknown op")}},
			"! bad-rule: unknown op"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got strings.Builder
			n := newNarrator(&console{w: &got}, book, c.verbose, false, "", 1)
			for _, a := range c.acts {
				n.observe(a)
			}
			// A want ending in "…" fixes only the start: the rest is the
			// decoder's wording, not ours.
			want, ok := strings.CutSuffix(c.want, "…")
			if !ok && want != "" {
				want += "\n"
			}
			if ok && !strings.HasPrefix(got.String(), want) || !ok && got.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", got.String(), c.want)
			}
		})
	}
}

func TestNarratorQuiet(t *testing.T) {
	var got strings.Builder
	n := newNarrator(&console{w: &got}, newSensorBook(), true, true, "", 0)
	n.observe(lctest.Activity{Kind: lctest.ActivityTask, SID: "s", What: "os_packages"})
	if got.Len() != 0 {
		t.Errorf("quiet narrator printed %q", got.String())
	}
}

// With several replicas, webhook and response lines name the replica of
// the attempt, counted from 1; "no replica" when all were stopped.
func TestNarratorReplicas(t *testing.T) {
	var got strings.Builder
	n := newNarrator(&console{w: &got}, newSensorBook(), true, false, "", 0)
	n.replicas = true
	for _, a := range []lctest.Activity{
		{Kind: lctest.ActivityWebhook, What: "request", Service: "svc", MID: "m", Attempt: 1, Replica: 1},
		{Kind: lctest.ActivityResponse, What: "request", MID: "m", Replica: 1, Body: json.RawMessage(`{"success":true}`)},
		{Kind: lctest.ActivityResponse, What: "detection", Replica: 0, Body: json.RawMessage(`{"success":false,"retry":true,"error":"busy"}`)},
		{Kind: lctest.ActivityResponse, What: "org_install", Replica: 2, Body: json.RawMessage(`{"success":true,"error":"no rule"}`)},
		{Kind: lctest.ActivityWebhook, What: "request", Service: "svc", MID: "m2", Attempt: 2, Replica: -1},
		{Kind: lctest.ActivityResponse, What: "request", Service: "svc", MID: "m2", Replica: -1, Err: lctest.ErrReplicasStopped},
		{Kind: lctest.ActivityResponse, What: "request", Replica: 0, Body: json.RawMessage(`nope`)},
	} {
		n.observe(a)
	}
	want := `» [r2] request webhook to svc
« [r2] request answered: success
✗ [r1] detection answered: failed, retry asked: busy
! [r3] org_install answered: success, with an error: no rule
» [no replica] request webhook to svc (redelivery, attempt 2)
✗ [no replica] request webhook to svc failed: ` + lctest.ErrReplicasStopped.Error() + `
✗ [r1] request answer is not a response: `
	if !strings.HasPrefix(got.String(), want) {
		t.Errorf("got:\n%s\nwant:\n%s…", got.String(), want)
	}
}
