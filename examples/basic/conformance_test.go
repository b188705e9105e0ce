package main

// A black-box conformance run: the example is built and started as its own
// process, then driven only through the wire protocol.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/service"
)

const conformanceSecret = "conformance-secret"

type blackBox struct {
	t   *testing.T
	url string
}

// startBinary builds and runs the example on a free loopback port.
func startBinary(t *testing.T) *blackBox {
	t.Helper()
	url := exampletest.Start(t, "LC_SHARED_SECRET="+conformanceSecret)
	return &blackBox{t: t, url: strings.TrimSuffix(url, "/")}
}

type wire struct {
	status  int
	ctype   string
	Success bool            `json:"success"`
	Retry   bool            `json:"retry"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error"`
	Jobs    []struct {
		ID    string `json:"id"`
		Cause string `json:"cause"`
		End   int64  `json:"end"`
		Hist  []struct {
			Attachments []map[string]any `json:"attachments"`
		} `json:"hist"`
	} `json:"jobs"`
}

func (b *blackBox) post(body []byte, sig string) wire {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(service.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	w := wire{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &w); err != nil {
			b.t.Fatalf("answer is not JSON: %s", raw)
		}
	}
	return w
}

func (b *blackBox) event(etype string, data any, mutate ...func(map[string]any)) wire {
	b.t.Helper()
	env := map[string]any{
		"version": 1, "oid": "11111111-2222-3333-4444-555555555555", "mid": fmt.Sprint(time.Now().UnixNano()),
		"deadline": time.Now().Add(590 * time.Second).Unix(), "jwt": "jwt-value", "etype": etype, "data": data,
	}
	for _, m := range mutate {
		m(env)
	}
	body, _ := json.Marshal(env)
	return b.post(body, service.Sign([]byte(conformanceSecret), body))
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	b := startBinary(t)
	const sid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

	t.Run("healthz", func(t *testing.T) {
		resp, err := http.Get(b.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"status":"ok"}` {
			t.Errorf("/healthz = %d %s", resp.StatusCode, body)
		}
	})

	t.Run("signed health and metadata", func(t *testing.T) {
		w := b.event("health", map[string]any{})
		var h struct {
			Version int   `json:"version"`
			Start   int64 `json:"start_time"`
			Calls   *int  `json:"calls_in_progress"`
			Mtd     struct {
				Subs      []string                  `json:"detect_subscriptions"`
				Callbacks []string                  `json:"callbacks"`
				Params    map[string]map[string]any `json:"request_params"`
				Commands  map[string]any            `json:"commands"`
			} `json:"mtd"`
		}
		if err := json.Unmarshal(w.Data, &h); err != nil || !w.Success || w.ctype != "application/json" {
			t.Fatalf("health: %+v %v", w, err)
		}
		if h.Version < 1 || h.Start == 0 || h.Calls == nil {
			t.Errorf("health header: %s", w.Data)
		}
		if strings.Join(h.Mtd.Subs, ",") != detectionName {
			t.Errorf("detect_subscriptions = %v", h.Mtd.Subs)
		}
		want := "health,org_install,org_uninstall,detection,request,get_resource,org_per_24h"
		if got := strings.Join(h.Mtd.Callbacks, ","); got != want {
			t.Errorf("callbacks = %s, want %s", got, want)
		}
		if h.Mtd.Params["sid"]["type"] != "sid" || h.Mtd.Params["sid"]["is_required"] != true ||
			h.Mtd.Params["scope"]["type"] != "enum" || h.Mtd.Params["limit"]["type"] != "int" {
			t.Errorf("request_params = %v", h.Mtd.Params)
		}
	})

	t.Run("signature refusals", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"version": 1, "etype": "health", "data": map[string]any{}})
		other, _ := json.Marshal(map[string]any{"version": 1, "etype": "request", "data": map[string]any{}})
		good := service.Sign([]byte(conformanceSecret), body)
		for name, sig := range map[string]string{
			"missing":      "",
			"wrong secret": service.Sign([]byte("nope"), body),
			"other body":   service.Sign([]byte(conformanceSecret), other),
			"truncated":    good[:40],
			"garbage":      "not-a-signature",
		} {
			if w := b.post(body, sig); w.status != 401 || w.ctype != "application/json" {
				t.Errorf("%s: status %d (%s)", name, w.status, w.ctype)
			}
		}
		if w := b.post(body, strings.ToUpper(good)); w.status != 200 || !w.Success {
			t.Errorf("uppercase signature refused: %+v", w)
		}
	})

	t.Run("400 and 413", func(t *testing.T) {
		bad := []byte("{not json")
		if w := b.post(bad, service.Sign([]byte(conformanceSecret), bad)); w.status != 400 {
			t.Errorf("bad JSON: %d", w.status)
		}
		arr := []byte(`[]`)
		if w := b.post(arr, service.Sign([]byte(conformanceSecret), arr)); w.status != 400 {
			t.Errorf("JSON array: %d", w.status)
		}
		huge := bytes.Repeat([]byte("x"), service.DefaultMaxBodyBytes+1)
		if w := b.post(huge, "00"); w.status != 413 {
			t.Errorf("oversized body: %d", w.status)
		}
	})

	t.Run("unknown etype and version 2", func(t *testing.T) {
		if w := b.event("no_such_etype", map[string]any{}); w.Success || w.Error != "not implemented" {
			t.Errorf("unknown etype: %+v", w)
		}
		if w := b.event("new_sensor", map[string]any{}); w.Success || w.Error != "not implemented" {
			t.Errorf("unregistered etype: %+v", w)
		}
		w := b.event("health", map[string]any{}, func(e map[string]any) { e["version"] = 2 })
		if w.Success || !strings.Contains(w.Error, "version") {
			t.Errorf("version 2: %+v", w)
		}
	})

	t.Run("request parameters", func(t *testing.T) {
		cases := map[string]struct {
			data    map[string]any
			wantErr string
		}{
			"sid missing":      {map[string]any{"scope": "full"}, "missing parameter sid"},
			"sid wrong type":   {map[string]any{"sid": 12}, "invalid parameter sid"},
			"sid not a uuid":   {map[string]any{"sid": "host"}, "invalid parameter sid"},
			"scope wrong type": {map[string]any{"sid": sid, "scope": true}, "invalid parameter scope"},
			"scope not listed": {map[string]any{"sid": sid, "scope": "partial"}, "invalid parameter scope"},
			"limit wrong type": {map[string]any{"sid": sid, "limit": "many"}, "invalid parameter limit"},
			"limit fractional": {map[string]any{"sid": sid, "limit": 2.5}, "invalid parameter limit"},
			"limit range":      {map[string]any{"sid": sid, "limit": 1000}, "invalid parameter limit"},
		}
		for name, c := range cases {
			if w := b.event("request", c.data); w.Success || !strings.Contains(w.Error, c.wantErr) {
				t.Errorf("%s: %+v", name, w)
			}
		}
		w := b.event("request", map[string]any{"sid": sid, "scope": "full", "limit": 3})
		if !w.Success || len(w.Jobs) != 1 || w.Jobs[0].Cause == "" || w.Jobs[0].End == 0 ||
			len(w.Jobs[0].Hist) != 1 || w.Jobs[0].Hist[0].Attachments[0]["att_type"] != "table" {
			t.Errorf("valid request: %+v", w)
		}
	})

	t.Run("resource", func(t *testing.T) {
		w := b.event("get_resource", map[string]any{"resource": "suspicious-names", "is_include_data": true})
		if !w.Success || !strings.Contains(string(w.Data), `"res_cat":"lookup"`) {
			t.Errorf("get_resource: %+v", w)
		}
		if w := b.event("get_resource", map[string]any{"resource": "missing"}); w.Success || w.Retry {
			t.Errorf("unknown resource: %+v", w)
		}
	})

	t.Run("200 concurrent calls", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		failures := 0
		for i := range 200 {
			wg.Go(func() {
				var w wire
				if i%2 == 0 {
					w = b.event("health", map[string]any{})
				} else {
					w = b.event("request", map[string]any{"sid": sid})
				}
				if !w.Success {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if failures > 0 {
			t.Errorf("%d of 200 concurrent calls failed", failures)
		}
	})

	t.Run("still serving", func(t *testing.T) {
		if w := b.event("health", map[string]any{}); !w.Success {
			t.Errorf("health after the run: %+v", w)
		}
	})
}
