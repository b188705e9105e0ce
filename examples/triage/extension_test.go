package main

// A black-box run in extension mode: the example is built and started with
// LC_PROTOCOL=extension, its REST calls going to a stub API; the test plays
// the platform, delivering the detection and the sensor's answers as the
// D&R rules the example stored would.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/internal/stubapi"
)

const (
	secret = "triage-secret"
	oid    = "11111111-2222-3333-4444-555555555555"
	sid    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

func TestTriageAsExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	api := stubapi.New(t)
	e := &exampletest.Extension{T: t, Secret: secret, OID: oid, JWT: "org-jwt",
		URL: exampletest.Start(t, "LC_SHARED_SECRET="+secret, "LC_PROTOCOL=extension", "LC_API_URL="+api.URL)}

	if a := e.Send(map[string]any{"heartbeat": map[string]any{}}, false); a.Status != 200 || a.Raw != "{}" {
		t.Fatalf("heartbeat: %d %s", a.Status, a.Raw)
	}
	// subscribe: the replicant rule, and a rule delivering the detection.
	if a := e.Event("subscribe"); a.Status != 200 {
		t.Fatalf("subscribe: %d %s", a.Status, a.Raw)
	}
	names := api.RuleNames()
	slices.Sort(names)
	if len(names) != 2 || !strings.HasPrefix(names[0], "managed/svc-triage-det-suspicious-execution-") || names[1] != "managed/svc-triage-ex" {
		t.Fatalf("rules %v", names)
	}
	det, _ := api.Rule("managed", strings.TrimPrefix(names[0], "managed/"))
	if !strings.Contains(string(det.Detect), `"target":"detection"`) || !strings.Contains(string(det.Respond), `"__lcsvc_detection"`) {
		t.Errorf("detection rule %s %s", det.Detect, det.Respond)
	}

	// The detection starts a triage: os_processes is tasked.
	routing := map[string]any{"oid": oid, "sid": sid, "hostname": "web-1", "plat": 0x20000000}
	a := e.Request("__lcsvc_detection", map[string]any{"cat": "suspicious-execution", "routing": routing,
		"detect": map[string]any{"event": map[string]any{}, "routing": routing}})
	tasks := api.Tasks()
	if a.Status != 200 || len(tasks) != 1 || tasks[0].Commands[0] != "os_processes" || !strings.HasPrefix(tasks[0].InvestigationID, "svc-triage-ex/") ||
		len(a.Continuations) != 1 || a.Continuations[0].Action != "__lcsvc_timeout" {
		t.Fatalf("detection: %d %s; tasks %+v", a.Status, a.Raw, tasks)
	}

	// The process list comes back as the reply action; the named handler
	// tasks file_hash, and that task's timeout rides this answer.
	answer := func(inv, eventType string, event map[string]any) exampletest.ExtAnswer {
		r := map[string]any{"oid": oid, "sid": sid, "hostname": "web-1", "plat": 0x20000000, "event_type": eventType,
			"event_time": time.Now().UnixMilli(), "investigation_id": inv}
		return e.Request("__lcsvc_reply", map[string]any{"event": event, "routing": r})
	}
	a = answer(tasks[0].InvestigationID, "OS_PROCESSES_REP", map[string]any{"PROCESSES": []any{
		map[string]any{"PROCESS_ID": 1, "FILE_PATH": "/usr/sbin/sshd"},
		map[string]any{"PROCESS_ID": 4242, "FILE_PATH": "/tmp/.x/miner"},
	}})
	tasks = api.Tasks()
	if a.Status != 200 || len(tasks) != 2 || !strings.HasPrefix(tasks[1].Commands[0], "file_hash") || !strings.Contains(tasks[1].Commands[0], "/tmp/.x/miner") ||
		len(a.Continuations) != 1 {
		t.Fatalf("process list: %d %s; tasks %+v", a.Status, a.Raw, tasks)
	}

	// The hash ends the triage: the job closes with its table.
	a = answer(tasks[1].InvestigationID, "FILE_HASH_REP", map[string]any{"HASH": strings.Repeat("ab", 32), "FILE_IS_SIGNED": 0})
	var d struct {
		Jobs []struct {
			End int64 `json:"end"`
		} `json:"jobs"`
	}
	_ = json.Unmarshal(a.Data, &d)
	if a.Status != 200 || len(d.Jobs) != 1 || d.Jobs[0].End == 0 {
		t.Fatalf("hash: %d %s", a.Status, a.Raw)
	}
	if a := e.Event("unsubscribe"); a.Status != 200 || len(api.RuleNames()) != 0 {
		t.Errorf("unsubscribe: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
	}
}
