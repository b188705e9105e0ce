package lctest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestDetectionNeedsRuleSubscriptionAndInstall(t *testing.T) {
	for _, ruleStored := range []bool{true, false} {
		for _, subscribed := range []bool{true, false} {
			for _, installed := range []bool{true, false} {
				name := fmt.Sprintf("rule=%v/subscribed=%v/installed=%v", ruleStored, subscribed, installed)
				t.Run(name, func(t *testing.T) {
					c := newTestCloud(t)
					a := newAPI(t, c)
					org := c.NewOrg("acme")
					s := org.AddSensor(SensorConfig{})
					f := &fakeService{}
					if subscribed {
						f.subs = []string{"__svc-svc-ex"}
					}
					svc := register(t, c, f)
					if installed {
						if _, err := svc.Install(testContext(t), org); err != nil {
							t.Fatal(err)
						}
					}
					if ruleStored {
						a.putHiveRule(org, "managed", "svc-svc-ex", replicantDetect, replicantRespond, true)
					}
					a.task(org, s.SID, "svc-svc-ex/token", "os_version")
					waitIdle(t, c)

					want := 0
					if ruleStored && subscribed && installed {
						want = 1 // OS_VERSION_REP; the CLOUD_NOTIFICATION is filtered out
					}
					if got := len(f.envelopes("detection")); got != want {
						t.Fatalf("%d detection webhooks, want %d", got, want)
					}
					if got := len(svc.Detections()); got != want {
						t.Fatalf("%d recorded detections, want %d", got, want)
					}
				})
			}
		}
	}
}

func TestDetectionContent(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux})
	f := &fakeService{subs: []string{"__svc-svc-ex", "suspicious-download"}}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	// A user's own rule, with priority and metadata, on the same events.
	a.putHiveRule(org, "general", "downloads", `{"event":"OS_PROCESSES_REP","op":"contains","path":"event/PROCESSES/?/FILE_PATH","value":"/downloads/","case sensitive":false}`,
		`[{"action":"report","name":"suspicious-download","priority":4,"metadata":{"author":"qa"}},{"action":"add tag","tag":"x"}]`, true)
	// Disabled and broken rules never report.
	a.putHiveRule(org, "general", "disabled", `{"op":"exists","path":"event"}`, `[{"action":"report","name":"__svc-svc-ex"}]`, false)
	a.putHiveRule(org, "general", "broken", `{"op":"??"}`, `[{"action":"report","name":"__svc-svc-ex"}]`, true)

	a.task(org, s.SID, "svc-svc-ex/tok", "os_processes")
	waitIdle(t, c)

	ds := svc.Detections()
	if len(ds) != 2 {
		t.Fatalf("%d detections, want 2 (replicant + downloads): %+v", len(ds), ds)
	}
	cats := map[string]Detection{}
	for _, d := range ds {
		cats[d.Cat] = d
	}
	rep, user := cats["__svc-svc-ex"], cats["suspicious-download"]
	if rep.SourceRule != "svc-svc-ex" || rep.Namespace != "managed" || rep.Source != "dr-managed" || rep.Priority != 0 || len(rep.DetectMtd) != 0 {
		t.Errorf("replicant detection = %+v", rep)
	}
	if user.SourceRule != "downloads" || user.Namespace != "general" || user.Source != "dr-general" || user.Priority != 4 ||
		user.DetectMtd["author"] != "qa" || user.Author != "lctest" {
		t.Errorf("user detection = %+v", user)
	}

	// The webhook data is the detection itself, in the detection stream's
	// shape: detect is the bare event, routing beside it.
	envs := f.envelopes("detection")
	if len(envs) != 2 {
		t.Fatalf("%d detection webhooks", len(envs))
	}
	for _, env := range envs {
		if env["oid"] != org.OID || env["jwt"] != org.JWT {
			t.Errorf("envelope oid/jwt = %v/%v", env["oid"], env["jwt"])
		}
		d := env["data"].(map[string]any)
		for _, k := range []string{"cat", "source", "routing", "detect", "detect_id", "namespace", "priority", "detect_mtd",
			"rule_tags", "author", "source_rule", "gen_time", "link"} {
			if _, ok := d[k]; !ok {
				t.Errorf("detection lacks %q: %v", k, d)
			}
		}
		if _, err := uuid.Parse(d["detect_id"].(string)); err != nil {
			t.Errorf("detect_id is not a UUID: %v", d["detect_id"])
		}
		if src := d["source"]; src != "dr-"+d["namespace"].(string) {
			t.Errorf("source %v, want the rule's namespace as dr-%v", src, d["namespace"])
		}
		routing := d["routing"].(map[string]any)
		if routing["investigation_id"] != "svc-svc-ex/tok" || routing["event_type"] != "OS_PROCESSES_REP" || routing["hostname"] != "web-1" {
			t.Errorf("routing = %v", routing)
		}
		detect := d["detect"].(map[string]any)
		if _, ok := detect["PROCESSES"]; !ok || detect["routing"] != nil || detect["event"] != nil {
			t.Errorf("detect is not the bare event payload: %v", detect)
		}
	}
	if n := len(rec.kind(ActivityDetection)); n != 2 {
		t.Errorf("observer saw %d detections, want 2", n)
	}
	if n := len(rec.kind(ActivityRuleError)); n != 1 {
		t.Errorf("observer saw %d rule errors, want 1 (broken)", n)
	}
}

func TestDetectionStopsWhenRuleDeletedOrUninstalled(t *testing.T) {
	tests := []struct {
		name string
		undo func(t *testing.T, org *Org, svc *Service)
	}{
		{"user deletes the rule", func(t *testing.T, org *Org, _ *Service) {
			if !org.DeleteRule("managed", "svc-svc-ex") {
				t.Fatal("no rule to delete")
			}
		}},
		{"user disables the rule", func(t *testing.T, org *Org, _ *Service) {
			r, _ := org.Rule("managed", "svc-svc-ex")
			r.Enabled = false
			if err := org.SetRule(r); err != nil {
				t.Fatal(err)
			}
		}},
		{"service uninstalled", func(t *testing.T, org *Org, svc *Service) {
			if _, err := svc.Uninstall(testContext(t), org); err != nil {
				t.Fatal(err)
			}
			if svc.Installed(org) {
				t.Fatal("still installed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCloud(t)
			a := newAPI(t, c)
			org := c.NewOrg("acme")
			s := org.AddSensor(SensorConfig{})
			f := &fakeService{subs: []string{"__svc-svc-ex"}}
			svc := register(t, c, f)
			if _, err := svc.Install(testContext(t), org); err != nil {
				t.Fatal(err)
			}
			if err := org.SetRule(StoredRule{Namespace: "managed", Name: "svc-svc-ex", Detect: json.RawMessage(replicantDetect),
				Respond: json.RawMessage(replicantRespond), Enabled: true}); err != nil {
				t.Fatal(err)
			}
			a.task(org, s.SID, "svc-svc-ex/1", "os_version")
			waitIdle(t, c)
			if n := len(svc.Detections()); n != 1 {
				t.Fatalf("before: %d detections, want 1", n)
			}
			tt.undo(t, org, svc)
			a.task(org, s.SID, "svc-svc-ex/2", "os_version")
			waitIdle(t, c)
			if n := len(svc.Detections()); n != 1 {
				t.Fatalf("after: %d detections, want still 1", n)
			}
		})
	}
}

func TestReplicantRuleIgnoresOtherServices(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	f := &fakeService{subs: []string{"__svc-svc-ex"}}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	for _, inv := range []string{"svc-svc-ex2/x", "other", ""} {
		a.task(org, s.SID, inv, "os_version")
	}
	waitIdle(t, c)
	if n := len(svc.Detections()); n != 0 {
		t.Fatalf("%d detections for tasks that are not the service's", n)
	}
}

// A service that tasks a sensor while handling a detection is waited for
// by WaitIdle, and its second answer comes back too.
func TestWaitIdleCoversChainedWork(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Latency: 20 * time.Millisecond})
	f := &fakeService{subs: []string{"__svc-svc-ex"}}
	f.answer = func(env map[string]any) any {
		if env["etype"] == "detection" {
			d := env["data"].(map[string]any)
			if d["routing"].(map[string]any)["investigation_id"] == "svc-svc-ex/first" {
				// What a service does: task again with the org's JWT.
				form := url.Values{"tasks": {"os_users"}, "investigation_id": {"svc-svc-ex/second"}}
				req, err := http.NewRequest(http.MethodPost, c.URL()+"/v1/"+s.SID, strings.NewReader(form.Encode()))
				if err != nil {
					return map[string]any{"success": false, "error": err.Error()}
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "bearer "+env["jwt"].(string))
				resp, err := a.client.Do(req)
				if err != nil {
					return map[string]any{"success": false, "error": err.Error()}
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return map[string]any{"success": false, "error": resp.Status}
				}
			}
		}
		return map[string]any{"success": true, "data": map[string]any{}}
	}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	a.task(org, s.SID, "svc-svc-ex/first", "os_version")
	waitIdle(t, c)
	ds := svc.Detections()
	if len(ds) != 2 || ds[1].Routing.InvestigationID != "svc-svc-ex/second" || ds[1].Routing.EventType != "OS_USERS_REP" {
		t.Fatalf("detections = %+v, want the first answer then the chained one", ds)
	}
}

// The replicant rule's `not` clause is what keeps the CLOUD_NOTIFICATION
// receipt from being reported: without it both events come back.
func TestCloudNotificationFilteredByNot(t *testing.T) {
	const withoutNot = `{"op":"starts with","path":"routing/investigation_id","value":"svc-svc-ex/"}`
	tests := []struct {
		name   string
		detect string
		want   []string
	}{
		{"replicant rule", replicantDetect, []string{"OS_VERSION_REP"}},
		{"without the not clause", withoutNot, []string{"CLOUD_NOTIFICATION", "OS_VERSION_REP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCloud(t)
			a := newAPI(t, c)
			org := c.NewOrg("acme")
			s := org.AddSensor(SensorConfig{})
			svc := register(t, c, &fakeService{subs: []string{"__svc-svc-ex"}})
			if _, err := svc.Install(testContext(t), org); err != nil {
				t.Fatal(err)
			}
			a.putHiveRule(org, "managed", "svc-svc-ex", tt.detect, replicantRespond, true)
			a.task(org, s.SID, "svc-svc-ex/n", "os_version")
			waitIdle(t, c)
			var got []string
			for _, d := range svc.Detections() {
				got = append(got, d.Routing.EventType)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("detections for %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNestedDetectionShape(t *testing.T) {
	c := newTestCloud(t, WithDetectionShape(NestedDetection))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux})
	f := &fakeService{subs: []string{"__svc-svc-ex"}}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	a.task(org, s.SID, "svc-svc-ex/tok", "os_version")
	waitIdle(t, c)

	envs := f.envelopes("detection")
	if len(envs) != 1 {
		t.Fatalf("%d detection webhooks, want 1", len(envs))
	}
	d := envs[0]["data"].(map[string]any)
	detect := d["detect"].(map[string]any)
	inner, _ := detect["routing"].(map[string]any)
	event, _ := detect["event"].(map[string]any)
	if inner["investigation_id"] != "svc-svc-ex/tok" || event["BUILD_NUMBER"] == nil || d["routing"].(map[string]any)["investigation_id"] != "svc-svc-ex/tok" {
		t.Errorf("nested detection = %v", d)
	}
	// The record keeps the detection as made, whatever the wire shape.
	if ds := svc.Detections(); len(ds) != 1 || ds[0].Detect["BUILD_NUMBER"] == nil {
		t.Errorf("Detections = %+v", ds)
	}
}
