package lctest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// extMessage is a message as the fake extension saw it.
type extMessage struct {
	Version        int             `json:"version"`
	IdempotencyKey string          `json:"idempotency_key"`
	Heartbeat      json.RawMessage `json:"heartbeat"`
	SchemaRequest  json.RawMessage `json:"schema_request"`
	Request        *struct {
		Org    map[string]string `json:"org"`
		Action string            `json:"action"`
		Data   json.RawMessage   `json:"data"`
	} `json:"request"`
	Event *struct {
		Org       map[string]string `json:"org"`
		EventName string            `json:"event_name"`
	} `json:"event"`

	gzipped bool
	sigOK   bool
}

func (m extMessage) what() string {
	switch {
	case m.Heartbeat != nil:
		return "heartbeat"
	case m.SchemaRequest != nil:
		return "schema_request"
	case m.Request != nil:
		return "request " + m.Request.Action
	case m.Event != nil:
		return "event " + m.Event.EventName
	}
	return "?"
}

// fakeExt is a minimal wire-level extension: it checks nothing itself,
// records every message and answers with answer (200 {} by default).
type fakeExt struct {
	secret []byte
	answer func(m extMessage) (int, any)

	mu   sync.Mutex
	msgs []extMessage
}

func (f *fakeExt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var m extMessage
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	m.gzipped, m.sigOK = gz, VerifySignature(f.secret, b, r.Header.Get("lc-ext-sig"))
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	status, resp := 200, any(map[string]any{})
	if m.SchemaRequest != nil {
		resp = map[string]any{"data": map[string]any{
			"request_schema":  map[string]any{"run": map[string]any{"is_default": true}, "other": map[string]any{}},
			"required_events": []string{"subscribe", "unsubscribe", "update"},
		}}
	} else if f.answer != nil && m.Request != nil {
		status, resp = f.answer(m)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeExt) messages() []extMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]extMessage(nil), f.msgs...)
}

func (f *fakeExt) requests(action string) []extMessage {
	var out []extMessage
	for _, m := range f.messages() {
		if m.Request != nil && m.Request.Action == action {
			out = append(out, m)
		}
	}
	return out
}

func registerExt(t *testing.T, c *Cloud, f *fakeExt, plain bool) *Service {
	t.Helper()
	f.secret = []byte("ext-secret")
	svc, err := c.Register(testContext(t), ServiceConfig{Name: "ext", Secret: string(f.secret), Handler: f, Protocol: Extension, PlainBody: plain})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return svc
}

func TestExtensionLifecycle(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			ctx := testContext(t)
			c := newTestCloud(t)
			org := c.NewOrg("acme")
			f := &fakeExt{}
			svc := registerExt(t, c, f, plain)
			if sc := svc.Schema(); sc.DefaultAction != "run" || strings.Join(sc.Actions, ",") != "other,run" {
				t.Errorf("schema %+v", sc)
			}
			for _, step := range []func() (Response, error){
				func() (Response, error) { return svc.Install(ctx, org) },
				func() (Response, error) { return svc.Request(ctx, org, map[string]any{"x": 1}) },
				func() (Response, error) { return svc.RequestAction(ctx, org, "other", nil) },
				func() (Response, error) { return svc.Update(ctx, org) },
				func() (Response, error) { return svc.Uninstall(ctx, org) },
			} {
				if resp, err := step(); err != nil || !resp.Success {
					t.Fatalf("%+v %v", resp, err)
				}
			}
			var whats []string
			keys := map[string]bool{}
			for _, m := range f.messages() {
				whats = append(whats, m.what())
				if !m.sigOK || m.gzipped == plain || m.Version != ExtensionVersion || m.IdempotencyKey == "" || keys[m.IdempotencyKey] {
					t.Errorf("message %s: sig %v gzip %v version %d key %q", m.what(), m.sigOK, m.gzipped, m.Version, m.IdempotencyKey)
				}
				keys[m.IdempotencyKey] = true
				if m.Request != nil && (m.Request.Org["oid"] != org.OID || m.Request.Org["jwt"] != org.JWT) {
					t.Errorf("org access %v", m.Request.Org)
				}
			}
			want := "heartbeat,schema_request,event subscribe,request run,request other,event update,event unsubscribe"
			if got := strings.Join(whats, ","); got != want {
				t.Errorf("messages %s, want %s", got, want)
			}
			if x := svc.Exchanges(); len(x) != 7 || x[3].EType != "request" || x[3].Action != "run" {
				t.Errorf("exchanges %+v", x)
			}
			if _, err := svc.Tick(ctx, org, "org_per_1h"); err == nil || !strings.Contains(err.Error(), "Cloud.Schedule") {
				t.Errorf("Tick to an extension: %v", err)
			}
			if _, err := svc.Update(ctx, org); err == nil {
				t.Error("Update after Uninstall succeeded")
			}
			if resp, err := svc.Deliver(ctx, "error_report", nil, map[string]string{"error": "boom"}); err != nil || !resp.Success {
				t.Fatalf("Deliver error_report: %+v %v", resp, err)
			}
			all := f.messages()
			if last := all[len(all)-1]; last.what() != "?" || !last.sigOK || last.Version != ExtensionVersion {
				t.Errorf("raw delivery %+v", last)
			}
		})
	}
}

func TestExtensionRetrySemantics(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	var mu sync.Mutex
	n := 0
	f := &fakeExt{answer: func(m extMessage) (int, any) {
		mu.Lock()
		defer mu.Unlock()
		switch m.Request.Action {
		case "flaky":
			n++
			if n < 3 {
				return 500, map[string]any{"error": "busy"}
			}
			return 200, map[string]any{"data": map[string]any{"jobs": []map[string]any{{"id": "j1", "hist": []map[string]any{{"ts": 1, "msg": "hi"}}}}}}
		case "bad":
			return 400, map[string]any{"error": "no", "retriable": false}
		case "final":
			return 500, map[string]any{"error": "give up", "retriable": false}
		}
		return 500, map[string]any{"error": "always"}
	}}
	svc := registerExt(t, c, f, false)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	resp, err := svc.RequestAction(ctx, org, "flaky", nil)
	if err != nil || !resp.Success || len(resp.Jobs) != 1 {
		t.Fatalf("flaky: %+v %v", resp, err)
	}
	got := f.requests("flaky")
	if len(got) != 3 || got[0].IdempotencyKey != got[1].IdempotencyKey || got[1].IdempotencyKey != got[2].IdempotencyKey {
		t.Errorf("retries did not keep the idempotency key: %+v", got)
	}
	if j, ok := svc.Job("j1"); !ok || len(j.Hist) != 1 {
		t.Errorf("data.jobs not merged into the job views: %+v", j)
	}
	if resp, err := svc.RequestAction(ctx, org, "bad", nil); err != nil || resp.Success || resp.Retry || resp.Status != 400 || len(f.requests("bad")) != 1 {
		t.Errorf("400: %+v %v, %d deliveries", resp, err, len(f.requests("bad")))
	}
	if resp, _ := svc.RequestAction(ctx, org, "final", nil); resp.Retry || len(f.requests("final")) != 1 {
		t.Errorf("500 retriable=false was retried: %+v", resp)
	}
	if resp, _ := svc.RequestAction(ctx, org, "down", nil); !resp.Retry || len(f.requests("down")) != 1+DefaultMaxRedeliveries {
		t.Errorf("always 500: %d deliveries", len(f.requests("down")))
	}
}

func TestExtensionContinuations(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	const chainDelay = 60 // seconds
	conts := func(n int, delay int64, action string) []map[string]any {
		var out []map[string]any
		for i := range n {
			out = append(out, map[string]any{"in_delay_sec": delay, "action": action, "state": map[string]any{"i": i}})
		}
		return out
	}
	f := &fakeExt{answer: func(m extMessage) (int, any) {
		switch m.Request.Action {
		case "start":
			return 200, map[string]any{"continuations": conts(2, chainDelay, "chain")}
		case "chain": // chains for ever: the cloud stops it at level 10
			return 200, map[string]any{"continuations": conts(1, 0, "chain")}
		case "many":
			return 200, map[string]any{"continuations": conts(MaxContinuations+1, 1, "never")}
		case "long":
			return 200, map[string]any{"continuations": append(conts(1, 301, "never"), conts(1, 300, "later")...)}
		}
		return 200, map[string]any{}
	}}
	svc := registerExt(t, c, f, false)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestAction(ctx, org, "start", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, c) // does not wait for the 60 s continuations
	if n := c.PendingContinuations(); n != 2 || len(f.requests("chain")) != 0 {
		t.Fatalf("%d pending, %d chain requests", n, len(f.requests("chain")))
	}
	start := time.Now()
	if n, err := c.RunContinuations(ctx); n != 2 || err != nil {
		t.Fatalf("RunContinuations = %d, %v", n, err)
	}
	waitIdle(t, c)
	if elapsed := time.Since(start); elapsed >= chainDelay*time.Second {
		t.Errorf("RunContinuations and WaitIdle took %v, the continuations' delay: they waited it out", elapsed)
	}
	parent := f.requests("start")[0].IdempotencyKey
	chain := f.requests("chain")
	if len(chain) != 2*MaxContinuationLevel {
		t.Fatalf("%d chain requests, want %d (two chains of %d levels)", len(chain), 2*MaxContinuationLevel, MaxContinuationLevel)
	}
	keys := map[string]bool{}
	for _, m := range chain {
		keys[m.IdempotencyKey] = true
	}
	for _, want := range []string{parent + ":1", parent + ".1:1", parent + ":1:2", parent + ":1:2:3:4:5:6:7:8:9:10"} {
		if !keys[want] {
			t.Errorf("no continuation keyed %s among %v", want, keys)
		}
	}
	if string(chain[0].Request.Data) != `{"i":0}` {
		t.Errorf("continuation data %s, want the state", chain[0].Request.Data)
	}
	refused := func() int {
		n := 0
		for _, a := range c.Activities() {
			if a.Kind == ActivityRuleError && a.What == "continuation" {
				n++
			}
		}
		return n
	}
	if refused() != 2 {
		t.Errorf("%d refusals recorded, want 2 (the 10th level of each chain)", refused())
	}
	if _, err := svc.RequestAction(ctx, org, "many", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestAction(ctx, org, "long", nil); err != nil {
		t.Fatal(err)
	}
	if refused() != 4 || c.PendingContinuations() != 1 {
		t.Errorf("%d refusals, %d pending; want 4 and the 300 s one", refused(), c.PendingContinuations())
	}
	if n, _ := c.RunContinuations(ctx); n != 1 || len(f.requests("later")) != 1 || len(f.requests("never")) != 0 {
		t.Errorf("ran %d; later %d, never %d", n, len(f.requests("later")), len(f.requests("never")))
	}
}

func TestExtensionRequestRules(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	host := org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux})
	other := org.AddSensor(SensorConfig{Hostname: "web-2", Platform: Linux})
	f := &fakeExt{}
	svc := registerExt(t, c, f, false)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	rules := []StoredRule{
		{Namespace: "managed", Name: "reply", Enabled: true,
			Detect:  json.RawMessage(`{"op":"starts with","path":"routing/investigation_id","value":"ext/"}`),
			Respond: json.RawMessage(`[{"action":"report","name":"seen"},{"action":"extension request","extension name":"ext","extension action":"reply","extension request":{"event":"event","routing":"routing","sid":"{{ .routing.sid }}"}}]`)},
		{Namespace: "managed", Name: "det", Enabled: true,
			Detect:  json.RawMessage(`{"target":"detection","op":"is","path":"cat","value":"seen"}`),
			Respond: json.RawMessage(`[{"action":"extension request","extension name":"ext","extension action":"det","extension request":{"cat":"cat","routing":"routing"}}]`)},
		{Namespace: "managed", Name: "org", Enabled: true,
			Detect:  json.RawMessage(`{"target":"schedule","event":"12h_per_org","op":"exists","path":"event"}`),
			Respond: json.RawMessage(`[{"action":"extension request","extension name":"ext","extension action":"tick_org"}]`)},
		{Namespace: "managed", Name: "sensor", Enabled: true,
			Detect:  json.RawMessage(`{"target":"schedule","event":"1h_per_sensor","op":"exists","path":"event"}`),
			Respond: json.RawMessage(`[{"action":"extension request","extension name":"ext","extension action":"tick_sensor","extension request":{"sid":"{{ .routing.sid }}"}}]`)},
		{Namespace: "managed", Name: "nobody", Enabled: true,
			Detect:  json.RawMessage(`{"target":"schedule","event":"12h_per_org","op":"exists","path":"event"}`),
			Respond: json.RawMessage(`[{"action":"extension request","extension name":"absent","extension action":"x"}]`)},
	}
	for _, r := range rules {
		if err := org.SetRule(r); err != nil {
			t.Fatal(err)
		}
	}
	a := newAPI(t, c)
	a.task(org, host.SID, "ext/abc", "os_version")
	waitIdle(t, c)
	replies := f.requests("reply")
	if len(replies) == 0 {
		t.Fatal("no reply request")
	}
	var d struct {
		Event   map[string]any `json:"event"`
		Routing Routing        `json:"routing"`
		SID     string         `json:"sid"`
	}
	if err := json.Unmarshal(replies[0].Request.Data, &d); err != nil || d.Routing.InvestigationID != "ext/abc" || d.SID != host.SID || d.Event == nil {
		t.Errorf("reply data %s: %v", replies[0].Request.Data, err)
	}
	dets := f.requests("det")
	if len(dets) != len(replies) || !strings.Contains(string(dets[0].Request.Data), `"cat":"seen"`) {
		t.Errorf("%d detection requests for %d replies: %v", len(dets), len(replies), dets)
	}
	if err := c.Schedule(ctx, org, "12h_per_org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Schedule(ctx, org, "1h_per_sensor"); err != nil {
		t.Fatal(err)
	}
	if err := c.Schedule(ctx, org, "daily"); err == nil {
		t.Error("Schedule accepted a bad name")
	}
	if n := len(f.requests("tick_org")); n != 1 {
		t.Errorf("%d org ticks", n)
	}
	ticks := f.requests("tick_sensor")
	if len(ticks) != 2 || string(ticks[0].Request.Data) != `{"sid":"`+host.SID+`"}` || string(ticks[1].Request.Data) != `{"sid":"`+other.SID+`"}` {
		t.Errorf("sensor ticks %v", ticks)
	}
	var unsubscribed bool
	for _, a := range c.Activities() {
		if a.Kind == ActivityRuleError && strings.Contains(fmt.Sprint(a.Err), `"absent"`) {
			unsubscribed = true
		}
	}
	if !unsubscribed {
		t.Error("a request to an extension not subscribed was not recorded")
	}
	if len(host.Events()) == 0 || len(other.Events()) != 0 {
		t.Errorf("schedule events listed as sensor events")
	}
}
