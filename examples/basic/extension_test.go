package main

// The black-box run in extension mode: the example is built and started with
// LC_PROTOCOL=extension, its REST calls going to a stub API, and driven only
// through the extension protocol.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/internal/stubapi"
)

const extOID = "11111111-2222-3333-4444-555555555555"

func TestExtensionConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	api := stubapi.New(t)
	url, pid := exampletest.StartProcess(t, "LC_SHARED_SECRET="+conformanceSecret, "LC_PROTOCOL=extension", "LC_API_URL="+api.URL)
	e := &exampletest.Extension{T: t, URL: url, Secret: conformanceSecret, OID: extOID, JWT: "jwt-value"}
	const sid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

	t.Run("heartbeat", func(t *testing.T) {
		for _, zip := range []bool{false, true} {
			if a := e.Send(map[string]any{"heartbeat": map[string]any{}}, zip); a.Status != 200 || a.Raw != "{}" {
				t.Errorf("heartbeat (gzip %v): %d %s", zip, a.Status, a.Raw)
			}
		}
	})

	t.Run("schema from the request parameters", func(t *testing.T) {
		var s struct {
			RequestSchema map[string]struct {
				IsDefault    bool `json:"is_default"`
				IsUserFacing bool `json:"is_user_facing"`
				Parameters   struct {
					Fields map[string]struct {
						DataType     string   `json:"data_type"`
						Description  string   `json:"description"`
						DisplayIndex int      `json:"display_index"`
						EnumValues   []string `json:"enum_values"`
					} `json:"fields"`
					Requirements [][]string `json:"requirements"`
				} `json:"parameters"`
			} `json:"request_schema"`
			RequiredEvents []string `json:"required_events"`
		}
		if a := e.Schema(&s); a.Status != 200 {
			t.Fatalf("%d %s", a.Status, a.Raw)
		}
		req, ok := s.RequestSchema["request"]
		if !ok || !req.IsDefault || !req.IsUserFacing {
			t.Fatalf("request action: %+v", s.RequestSchema)
		}
		f := req.Parameters.Fields
		if f["sid"].DataType != "sid" || f["sid"].Description != "sensor to report on" || f["sid"].DisplayIndex != 1 ||
			f["scope"].DataType != "enum" || strings.Join(f["scope"].EnumValues, ",") != "summary,full" ||
			f["limit"].DataType != "integer" || f["limit"].DisplayIndex != 3 {
			t.Errorf("fields %+v", f)
		}
		if r, _ := json.Marshal(req.Parameters.Requirements); string(r) != `[["sid"]]` {
			t.Errorf("requirements %s", r)
		}
		for _, internal := range []string{"__lcsvc_detection", "__lcsvc_tick_org_per_24h"} {
			if a, ok := s.RequestSchema[internal]; !ok || a.IsUserFacing {
				t.Errorf("internal action %s missing or user-facing", internal)
			}
		}
		if strings.Join(s.RequiredEvents, ",") != "subscribe,unsubscribe,update" {
			t.Errorf("required_events %v", s.RequiredEvents)
		}
	})

	request := map[string]any{"version": 20221218, "idempotency_key": "plain-1", "request": map[string]any{
		"org": map[string]any{"oid": extOID, "jwt": "jwt-value"}, "action": "request", "data": map[string]any{"sid": sid, "limit": 2}}}
	raw, _ := json.Marshal(request)

	t.Run("signed gzip and plain bodies", func(t *testing.T) {
		for _, zip := range []bool{false, true} {
			request["idempotency_key"] = "body-" + map[bool]string{false: "plain", true: "gzip"}[zip]
			raw, _ := json.Marshal(request)
			a := e.Post(raw, e.Sign(raw), zip)
			var d struct {
				Checks int `json:"checks"`
				Jobs   []struct {
					ID string `json:"id"`
				} `json:"jobs"`
			}
			_ = json.Unmarshal(a.Data, &d)
			if a.Status != 200 || d.Checks != 2 || len(d.Jobs) != 1 {
				t.Errorf("gzip %v: %d %s", zip, a.Status, a.Raw)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		if a := e.Post(raw, e.Sign([]byte("{}")), false); a.Status != 401 || a.IsRetriable() {
			t.Errorf("wrong signature: %d %s", a.Status, a.Raw)
		}
		if a := e.Post(raw, "0000", true); a.Status != 401 {
			t.Errorf("garbage signature, gzipped: %d %s", a.Status, a.Raw)
		}
		// Unsigned: 200 {}, nothing processed (a processed request answers
		// with data).
		if a := e.Post(raw, "", false); a.Status != 200 || a.Raw != "{}" {
			t.Errorf("unsigned: %d %s", a.Status, a.Raw)
		}
		if a := e.Request("no-such-action", map[string]any{}); a.Status != 400 || a.IsRetriable() || !strings.Contains(a.Error, "unknown action") {
			t.Errorf("unknown action: %d %s", a.Status, a.Raw)
		}
		if a := e.Request("request", map[string]any{"sid": sid, "limit": 1000}); a.Status != 400 || a.IsRetriable() || !strings.Contains(a.Error, "limit") {
			t.Errorf("a handler's failure: %d %s", a.Status, a.Raw)
		}
		if a := e.Request("request", map[string]any{"limit": 1}); a.Status != 400 || !strings.Contains(a.Error, "missing parameter sid") {
			t.Errorf("a missing parameter: %d %s", a.Status, a.Raw)
		}
	})

	t.Run("gzip bomb", func(t *testing.T) {
		before := exampletest.PeakRSS(pid)
		for _, size := range []int{10 << 20, 512 << 20} {
			bomb := exampletest.GzipBomb(size)
			a := e.PostBody(bomb, "gzip", strings.Repeat("ab", 32))
			if a.Status != 401 && a.Status != 413 {
				t.Errorf("%d MiB of zeros (%d bytes compressed): %d in %v", size>>20, len(bomb), a.Status, a.Took)
			}
		}
		after := exampletest.PeakRSS(pid)
		t.Logf("peak resident memory %d MiB before the bombs, %d MiB after", before>>20, after>>20)
		// The decompression limit is 32 MiB; unbounded, the second bomb
		// alone would take 512 MiB.
		if before > 0 && after-before > 256<<20 {
			t.Errorf("peak memory grew by %d MiB refusing the bombs", (after-before)>>20)
		}
	})

	t.Run("a repeated idempotency key runs the handler once", func(t *testing.T) {
		first := e.RequestKeyed("dup-1", "request", map[string]any{"sid": sid})
		again := e.RequestKeyed("dup-1", "request", map[string]any{"sid": sid})
		other := e.RequestKeyed("dup-2", "request", map[string]any{"sid": sid})
		// Each run opens a job with a fresh id: the same id means one run.
		if first.Status != 200 || again.Raw != first.Raw || other.Raw == first.Raw {
			t.Errorf("first %s\nagain %s\nother %s", first.Raw, again.Raw, other.Raw)
		}
	})

	t.Run("subscribe, ticks, detections, unsubscribe", func(t *testing.T) {
		api.FailNextRules(503, 503, 503, 503, 503)
		if a := e.Event("subscribe"); a.Status != 500 || !a.IsRetriable() {
			t.Errorf("subscribe with the API down: %d %s", a.Status, a.Raw)
		}
		if a := e.Event("subscribe"); a.Status != 200 {
			t.Fatalf("subscribe: %d %s", a.Status, a.Raw)
		}
		names := api.RuleNames()
		slices.Sort(names)
		if len(names) != 2 || !strings.HasPrefix(names[0], "managed/svc-basic-example-det-suspicious-process-name-") ||
			names[1] != "managed/svc-basic-example-tick-org_per_24h" {
			t.Fatalf("rules %v", names)
		}
		tick, _ := api.Rule("managed", "svc-basic-example-tick-org_per_24h")
		if !strings.Contains(string(tick.Detect), `"24h_per_org"`) || !strings.Contains(string(tick.Respond), `"__lcsvc_tick_org_per_24h"`) ||
			!strings.Contains(string(tick.Respond), `"extension name":"basic-example"`) {
			t.Errorf("tick rule %s %s", tick.Detect, tick.Respond)
		}
		if a := e.Request("__lcsvc_tick_org_per_24h", map[string]any{}); a.Status != 200 || !strings.Contains(string(a.Data), `"checked":true`) {
			t.Errorf("tick: %d %s", a.Status, a.Raw)
		}
		det := map[string]any{"cat": detectionName, "routing": map[string]any{"sid": sid, "hostname": "web-1"},
			"detect": map[string]any{"event": map[string]any{"FILE_PATH": `C:\mimikatz.exe`}}}
		if a := e.Request("__lcsvc_detection", det); a.Status != 200 || !strings.Contains(string(a.Data), "mimikatz.exe flagged") {
			t.Errorf("detection: %d %s", a.Status, a.Raw)
		}
		if a := e.Event("unsubscribe"); a.Status != 200 || len(api.RuleNames()) != 0 {
			t.Errorf("unsubscribe: %d %s, rules %v", a.Status, a.Raw, api.RuleNames())
		}
	})

	t.Run("service protocol refused", func(t *testing.T) {
		// A service-protocol webhook carries lc-svc-sig, not lc-ext-sig: a probe.
		body := []byte(`{"version":1,"etype":"health","data":{}}`)
		if a := e.PostBody(body, "", ""); a.Status != 200 || a.Raw != "{}" {
			t.Errorf("%d %s", a.Status, a.Raw)
		}
	})
}
