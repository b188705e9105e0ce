package main

// The black-box run in extension mode: the example is built and started
// with LC_PROTOCOL=extension, its REST calls (rules, tasks) going to a stub
// API, and driven only through the extension protocol. The test plays the
// platform: it delivers what the replicant rule would send back, and the
// continuations the example asked for.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/internal/stubapi"
)

const (
	extOID = "11111111-2222-3333-4444-555555555555"
	sidA   = "aaaaaaaa-0000-0000-0000-00000000000a"
	sidQ   = "aaaaaaaa-0000-0000-0000-00000000000b"
	sidR   = "aaaaaaaa-0000-0000-0000-00000000000c"
)

type extJob struct {
	ID   string `json:"id"`
	End  int64  `json:"end"`
	Hist []struct {
		Msg         string           `json:"msg"`
		Attachments []map[string]any `json:"attachments"`
	} `json:"hist"`
}

func jobsIn(t *testing.T, a exampletest.ExtAnswer) []extJob {
	t.Helper()
	var d struct {
		Jobs []extJob `json:"jobs"`
	}
	if len(a.Data) > 0 {
		if err := json.Unmarshal(a.Data, &d); err != nil {
			t.Fatalf("data: %v: %s", err, a.Raw)
		}
	}
	return d.Jobs
}

type timeoutState struct {
	Token string `json:"token"`
	Hop   int    `json:"hop"`
}

// timeoutContinuation returns the one continuation of a, which must carry a
// task's timeout, and when it is due.
func timeoutContinuation(t *testing.T, a exampletest.ExtAnswer) (json.RawMessage, time.Time) {
	t.Helper()
	if len(a.Continuations) != 1 || a.Continuations[0].Action != "__lcsvc_timeout" {
		t.Fatalf("want one timeout continuation: %s", a.Raw)
	}
	return a.Continuations[0].State, time.Now().Add(time.Duration(a.Continuations[0].InDelaySec) * time.Second)
}

// reply is what the replicant rule's extension request passes: the event
// and its routing.
func reply(sid, inv string, event map[string]any) map[string]any {
	return map[string]any{
		"event": event,
		"routing": map[string]any{
			"oid": extOID, "sid": sid, "hostname": "web-1", "plat": 0x20000000, "event_type": "OS_PACKAGES_REP",
			"event_time": time.Now().UnixMilli(), "investigation_id": inv,
		},
	}
}

func TestBlackBoxExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	api := stubapi.New(t)
	env := []string{"LC_SHARED_SECRET=" + blackBoxSecret, "LC_PROTOCOL=extension", "LC_API_URL=" + api.URL, "SURVEY_TTL=3s"}
	e := &exampletest.Extension{T: t, URL: exampletest.Start(t, env...), Secret: blackBoxSecret, OID: extOID, JWT: "org-jwt"}

	// A replica that tasks a sensor and is gone before the task's TTL: the
	// continuation its answer asked for is all that is left of the task.
	var stateR json.RawMessage
	var dueR time.Time
	var jobR string
	t.Run("a sender that stops", func(t *testing.T) {
		sender := &exampletest.Extension{T: t, URL: exampletest.Start(t, env...), Secret: blackBoxSecret, OID: extOID, JWT: "org-jwt"}
		a := sender.Request("request", map[string]any{"sid": sidR})
		if a.Status != 200 || len(jobsIn(t, a)) != 1 {
			t.Fatalf("request: %d %s", a.Status, a.Raw)
		}
		jobR = jobsIn(t, a)[0].ID
		stateR, dueR = timeoutContinuation(t, a)
	}) // the sender stops here

	t.Run("heartbeat and schema", func(t *testing.T) {
		if a := e.Send(map[string]any{"heartbeat": map[string]any{}}, true); a.Status != 200 || a.Raw != "{}" {
			t.Errorf("heartbeat: %d %s", a.Status, a.Raw)
		}
		var s struct {
			RequestSchema map[string]struct {
				Parameters struct {
					Fields map[string]struct {
						DataType string `json:"data_type"`
					} `json:"fields"`
					Requirements [][]string `json:"requirements"`
				} `json:"parameters"`
			} `json:"request_schema"`
		}
		e.Schema(&s)
		p := s.RequestSchema["request"].Parameters
		if p.Fields["sid"].DataType != "sid" || len(p.Requirements) != 1 || p.Requirements[0][0] != "sid" {
			t.Errorf("request parameters %+v", p)
		}
		if a := e.Request("unknown", map[string]any{}); a.Status != 400 {
			t.Errorf("unknown action: %d", a.Status)
		}
	})

	t.Run("subscribe stores the replicant rule", func(t *testing.T) {
		api.FailNextRules(503, 503, 503, 503, 503)
		if a := e.Event("subscribe"); a.Status != 500 || !a.IsRetriable() || !strings.Contains(a.Error, "svc-package-survey-ex") {
			t.Errorf("with the API down (a handler's retriable failure): %d %s", a.Status, a.Raw)
		}
		if a := e.Event("subscribe"); a.Status != 200 {
			t.Fatalf("subscribe: %d %s", a.Status, a.Raw)
		}
		rule, ok := api.Rule("managed", "svc-package-survey-ex")
		if !ok || !strings.Contains(string(rule.Detect), `"svc-package-survey-ex/"`) {
			t.Fatalf("rule %+v (stored %v); rules %v", rule, ok, api.RuleNames())
		}
		var respond []map[string]any
		_ = json.Unmarshal(rule.Respond, &respond)
		if len(respond) != 1 || respond[0]["action"] != "extension request" || respond[0]["extension name"] != "package-survey" ||
			respond[0]["extension action"] != "__lcsvc_reply" {
			t.Errorf("respond %s", rule.Respond)
		}
	})

	t.Run("task, reply, tamper, repeat", func(t *testing.T) {
		a := e.RequestKeyed("survey-a", "request", map[string]any{"sid": sidA})
		if again := e.RequestKeyed("survey-a", "request", map[string]any{"sid": sidA}); again.Raw != a.Raw {
			t.Errorf("a repeated delivery answered differently:\n%s\n%s", a.Raw, again.Raw)
		}
		tasks := api.Tasks()
		if a.Status != 200 || len(tasks) != 2 || tasks[1].SID != sidA || tasks[1].Commands[0] != "os_packages" ||
			tasks[1].Auth != "bearer org-jwt" || !strings.HasPrefix(tasks[1].InvestigationID, "svc-package-survey-ex/") {
			t.Fatalf("request %d %s; tasks %+v", a.Status, a.Raw, tasks)
		}
		inv := tasks[1].InvestigationID
		job := jobsIn(t, a)[0].ID
		state, _ := timeoutContinuation(t, a)
		var st timeoutState
		_ = json.Unmarshal(state, &st)
		if st.Token != inv || st.Hop != 1 {
			t.Errorf("continuation state %s", state)
		}

		tampered := []byte(inv)
		if tampered[len(tampered)-3] == 'A' {
			tampered[len(tampered)-3] = 'B'
		} else {
			tampered[len(tampered)-3] = 'A'
		}
		pkgs := map[string]any{"PACKAGES": []any{map[string]any{"PACKAGE_NAME": "openssl", "PACKAGE_VERSION": "3.0.2"}}}
		if r := e.Request("__lcsvc_reply", reply(sidA, string(tampered), pkgs)); r.Status != 200 || len(jobsIn(t, r)) != 0 {
			t.Errorf("a tampered token was routed: %s", r.Raw)
		}
		r := e.RequestKeyed("reply-a", "__lcsvc_reply", reply(sidA, inv, pkgs))
		j := jobsIn(t, r)
		if r.Status != 200 || len(j) != 1 || j[0].ID != job || j[0].End == 0 || j[0].Hist[0].Attachments[0]["att_type"] != "table" {
			t.Fatalf("reply: %d %s", r.Status, r.Raw)
		}
		if again := e.RequestKeyed("reply-a", "__lcsvc_reply", reply(sidA, inv, pkgs)); again.Raw != r.Raw {
			t.Errorf("the repeated reply answered differently: %s", again.Raw)
		}
		if late := e.Request("__lcsvc_reply", reply(sidA, inv, pkgs)); late.Status != 200 || len(jobsIn(t, late)) != 0 {
			t.Errorf("the continuation ran twice: %s", late.Raw)
		}
	})

	t.Run("timeouts fire once", func(t *testing.T) {
		a := e.Request("request", map[string]any{"sid": sidQ})
		jobQ := jobsIn(t, a)[0].ID
		stateQ, dueQ := timeoutContinuation(t, a)
		// The subject: the platform delivers the continuation in_delay_sec
		// after the answer that asked for it, a little later here.
		time.Sleep(time.Until(dueQ.Add(1500 * time.Millisecond)))

		// The process that sent it timed it out on its own timer; the
		// continuation's answer carries that job update, once.
		c := e.Request("__lcsvc_timeout", json.RawMessage(stateQ))
		j := jobsIn(t, c)
		if c.Status != 200 || len(c.Continuations) != 0 || len(j) != 1 || j[0].ID != jobQ || j[0].End == 0 ||
			!strings.Contains(j[0].Hist[0].Msg, "did not answer within 3s") {
			t.Errorf("continuation to the sender: %d %s", c.Status, c.Raw)
		}
		if c := e.Request("__lcsvc_timeout", json.RawMessage(stateQ)); len(jobsIn(t, c)) != 0 || len(c.Continuations) != 0 {
			t.Errorf("fired twice: %s", c.Raw)
		}

		// The stopped sender's task: this process never held it, and fires
		// its timeout (the default: the job closes as failed), once.
		time.Sleep(time.Until(dueR.Add(1500 * time.Millisecond))) // the platform's delay, as above
		c = e.Request("__lcsvc_timeout", json.RawMessage(stateR))
		j = jobsIn(t, c)
		if c.Status != 200 || len(j) != 1 || j[0].ID != jobR || j[0].End == 0 || !strings.Contains(j[0].Hist[0].Msg, "did not answer os_packages in time") {
			t.Errorf("continuation of the stopped sender's task: %d %s", c.Status, c.Raw)
		}
		if c := e.Request("__lcsvc_timeout", json.RawMessage(stateR)); len(jobsIn(t, c)) != 0 {
			t.Errorf("fired twice: %s", c.Raw)
		}
	})

	t.Run("unsubscribe deletes the rule", func(t *testing.T) {
		if a := e.Event("unsubscribe"); a.Status != 200 || len(api.RuleNames()) != 0 {
			t.Errorf("unsubscribe: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
		}
	})
}
