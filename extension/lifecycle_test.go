package extension_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/service"
)

func TestSubscribeStoresTickAndDetectionRules(t *testing.T) {
	api := stubapi.New(t)
	svc, _ := newService(t, api, extension.WithExtensionName("ext-registered"))
	var installs, uninstalls int
	ticks := map[service.EventType]string{}
	var detection *service.Request
	svc.OnOrgInstall(func(ctx context.Context, r *service.Request) service.Response {
		installs++
		return service.OK(nil)
	})
	svc.OnOrgUninstall(func(ctx context.Context, r *service.Request) service.Response {
		uninstalls++
		return service.OK(nil)
	})
	tick := func(ctx context.Context, r *service.Request) service.Response {
		ticks[r.EventType] = r.SID()
		return service.OK(nil)
	}
	svc.OnTick(service.OrgPer1h, tick)
	svc.OnTick(service.SensorPer7d, tick)
	svc.OnTick(service.OrgPer30d, tick) // no counterpart: no rule
	svc.SubscribeDetections("suspicious exec/2")
	svc.OnDetection(func(ctx context.Context, r *service.Request) service.Response {
		detection = r
		return service.OK(nil)
	})
	c := newCloud(t, svc)

	if a := c.event("subscribe"); a.Status != 200 || installs != 1 {
		t.Fatalf("subscribe: %d %s (installs %d)", a.Status, a.Raw, installs)
	}
	detName := extension.DetectionRuleName("ext-test", "suspicious exec/2")
	want := []string{"managed/svc-ext-test-tick-org_per_1h", "managed/svc-ext-test-tick-sensor_per_7d", "managed/" + detName}
	got := api.RuleNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("rules %v, want %v", got, want)
	}
	if !strings.HasPrefix(detName, "svc-ext-test-det-suspicious-exec-2-") {
		t.Errorf("detection rule name %q", detName)
	}
	sensorTick, _ := api.Rule("managed", "svc-ext-test-tick-sensor_per_7d")
	detect, respond := sensorTick.Detect, sensorTick.Respond
	if !sameJSON(t, detect, `{"target":"schedule","event":"168h_per_sensor","op":"exists","path":"event"}`) ||
		!sameJSON(t, respond, `[{"action":"extension request","extension name":"ext-registered","extension action":"__lcsvc_tick_sensor_per_7d","extension request":{"sid":"{{ .routing.sid }}"}}]`) {
		t.Errorf("sensor tick rule: %s %s", detect, respond)
	}
	orgTick, _ := api.Rule("managed", "svc-ext-test-tick-org_per_1h")
	detect, respond = orgTick.Detect, orgTick.Respond
	if !sameJSON(t, detect, `{"target":"schedule","event":"1h_per_org","op":"exists","path":"event"}`) ||
		!sameJSON(t, respond, `[{"action":"extension request","extension name":"ext-registered","extension action":"__lcsvc_tick_org_per_1h","extension request":{}}]`) {
		t.Errorf("org tick rule: %s %s", detect, respond)
	}
	detRule, _ := api.Rule("managed", detName)
	detect, respond = detRule.Detect, detRule.Respond
	var r []map[string]any
	_ = json.Unmarshal(respond, &r)
	if !sameJSON(t, detect, `{"target":"detection","op":"is","path":"cat","value":"suspicious exec/2"}`) ||
		len(r) != 1 || r[0]["extension action"] != extension.DetectionAction || r[0]["extension request"].(map[string]any)["detect"] != "detect" {
		t.Errorf("detection rule: %s %s", detect, respond)
	}

	// The rules call back: ticks and detections reach their handlers.
	c.request(extension.TickActionPrefix+"sensor_per_7d", map[string]any{"sid": testSID})
	c.request(extension.TickActionPrefix+"org_per_1h", map[string]any{})
	if sid, ok := ticks[service.SensorPer7d]; !ok || sid != testSID {
		t.Errorf("sensor tick: %v", ticks)
	}
	if _, ok := ticks[service.OrgPer1h]; !ok {
		t.Errorf("org tick: %v", ticks)
	}
	if a := c.request(extension.TickActionPrefix+"org_per_30d", map[string]any{}); a.Status != 400 {
		t.Errorf("tick without counterpart: %d", a.Status)
	}
	det := map[string]any{"cat": "suspicious exec/2", "routing": map[string]any{"sid": testSID}, "detect": map[string]any{"event": map[string]any{"FILE_PATH": "x.exe"}}}
	if a := c.request(extension.DetectionAction, det); a.Status != 200 || detection == nil || detection.EventType != service.Detection {
		t.Fatalf("detection: %d %s", a.Status, a.Raw)
	}
	var d struct {
		Cat    string `json:"cat"`
		Detect struct {
			Event struct {
				FilePath string `json:"FILE_PATH"`
			} `json:"event"`
		} `json:"detect"`
	}
	if err := detection.Decode(&d); err != nil || d.Cat != "suspicious exec/2" || d.Detect.Event.FilePath != "x.exe" {
		t.Errorf("detection data %+v %v", d, err)
	}

	// update stores them again (a rule deleted by hand heals).
	api.DeleteRule("managed", "svc-ext-test-tick-org_per_1h")
	if a := c.event("update"); a.Status != 200 || len(api.RuleNames()) != 3 || installs != 1 {
		t.Errorf("update: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
	}

	// unsubscribe deletes them, one already gone or not.
	api.DeleteRule("managed", detName)
	if a := c.event("unsubscribe"); a.Status != 200 || uninstalls != 1 || len(api.RuleNames()) != 0 {
		t.Errorf("unsubscribe: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
	}
}

func TestRuleFailuresAnswerRetriably(t *testing.T) {
	api := stubapi.New(t)
	svc, _ := newService(t, api)
	ran := 0
	svc.OnOrgInstall(func(ctx context.Context, r *service.Request) service.Response {
		ran++
		return service.OK(nil)
	})
	svc.OnTick(service.OrgPer24h, func(context.Context, *service.Request) service.Response { return service.OK(nil) })
	c := newCloud(t, svc)
	api.FailNextRules(503, 503, 503, 503)
	a := c.event("subscribe")
	if a.Status != 500 || !a.retriable() || !strings.Contains(a.Error, "svc-ext-test-tick-org_per_24h") || ran != 1 {
		t.Errorf("server error: %d %s (handler ran %d)", a.Status, a.Raw, ran)
	}
	api.FailNextRules(403)
	if a := c.event("subscribe"); a.Status != 400 || a.retriable() || !strings.Contains(a.Error, "dr.set.managed") {
		t.Errorf("forbidden: %d %s", a.Status, a.Raw)
	}
	api.FailNextRules(401)
	if a := c.event("subscribe"); a.Status != 500 || !a.retriable() {
		t.Errorf("expired JWT (a retry brings a fresh one): %d %s", a.Status, a.Raw)
	}
	api.FailNextRules(400)
	if a := c.event("subscribe"); a.Status != 400 || a.retriable() {
		t.Errorf("bad request: %d %s", a.Status, a.Raw)
	}
	if a := c.event("subscribe"); a.Status != 200 {
		t.Errorf("healthy: %d %s", a.Status, a.Raw)
	}
}

// sameJSON reports whether a encodes the same value as the JSON text b.
func sameJSON(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Errorf("not JSON: %q", a)
		return false
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
