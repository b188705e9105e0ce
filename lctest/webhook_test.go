package lctest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestWebhookEnvelopeAndSignature(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	f := &fakeService{}
	svc := register(t, c, f)
	ctx := testContext(t)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	resp, err := svc.Request(ctx, org, map[string]any{"action": "scan", "n": 3})
	if err != nil || !resp.Success || resp.Status != 200 {
		t.Fatalf("Request = %+v, %v", resp, err)
	}
	envs := f.envelopes("request")
	if len(envs) != 1 {
		t.Fatalf("%d request webhooks", len(envs))
	}
	env := envs[0]
	if env["version"] != float64(1) || env["oid"] != org.OID || env["jwt"] != org.JWT || env["etype"] != "request" {
		t.Errorf("envelope = %v", env)
	}
	if _, err := uuid.Parse(env["mid"].(string)); err != nil {
		t.Errorf("mid %v is not a UUID", env["mid"])
	}
	deadline := int64(env["deadline"].(float64))
	if want := before.Add(590 * time.Second).Unix(); deadline < want-1 || deadline > want+5 {
		t.Errorf("deadline = %d, want about now+590 s (%d)", deadline, want)
	}
	if d := env["data"].(map[string]any); d["action"] != "scan" || d["n"] != float64(3) {
		t.Errorf("data = %v", d)
	}
	if n := f.badSignatures(); n != 0 {
		t.Errorf("%d webhooks failed signature verification", n)
	}
	// Health and org_install went first; health carries no oid or jwt.
	health := f.envelopes("health")
	if len(health) != 1 || health[0]["oid"] != nil || health[0]["jwt"] != nil {
		t.Errorf("health envelopes = %v", health)
	}
	if len(f.envelopes("org_install")) != 1 {
		t.Error("no org_install webhook")
	}
	// Exchanges keep the raw request, which verifies under the secret.
	xs := svc.Exchanges()
	if len(xs) != 3 || xs[2].EType != "request" || xs[2].OID != org.OID || xs[2].Attempt != 1 {
		t.Fatalf("exchanges = %+v", xs)
	}
	if !VerifySignature(f.secret, xs[2].Request, Sign(f.secret, xs[2].Request)) || VerifySignature([]byte("other"), xs[2].Request, Sign(f.secret, xs[2].Request)) {
		t.Error("Sign and VerifySignature disagree")
	}
	if VerifySignature(f.secret, xs[2].Request, "zz") {
		t.Error("a non-hex signature verified")
	}
}

func TestWrongSecretFailsRegistration(t *testing.T) {
	c := newTestCloud(t)
	f := &fakeService{secret: []byte("right")}
	_, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: "wrong", Handler: f})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Register with the wrong secret = %v, want an HTTP 401 error", err)
	}
	if n := f.badSignatures(); n != 1 {
		t.Fatalf("the service refused %d webhooks, want 1", n)
	}
}

func TestRegisterErrors(t *testing.T) {
	c := newTestCloud(t)
	register(t, c, &fakeService{})
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":false,"error":"not ready","data":{}}`))
	})
	tests := []struct {
		name string
		cfg  ServiceConfig
		want string
	}{
		{"no name", ServiceConfig{Handler: failing}, "Name is empty"},
		{"no target", ServiceConfig{Name: "x"}, "exactly one"},
		{"both targets", ServiceConfig{Name: "x", Handler: failing, URL: "http://127.0.0.1:1/"}, "exactly one"},
		{"bad URL", ServiceConfig{Name: "x", URL: "ftp://host/"}, "not an http(s) URL"},
		{"taken name", ServiceConfig{Name: "svc", Handler: &fakeService{}}, "already registered"},
		{"health fails", ServiceConfig{Name: "x", Handler: failing}, "success=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Register(testContext(t), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTickAndRequestChecks(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	other := c.NewOrg("other")
	sensor := org.AddSensor(SensorConfig{})
	f := &fakeService{}
	svc := register(t, c, f)
	ctx := testContext(t)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		call    func() (Response, error)
		wantErr string
		etype   string // sent when no error
		oid     string
	}{
		{"org tick", func() (Response, error) { return svc.Tick(ctx, org, "org_per_1h") }, "", "org_per_1h", org.OID},
		{"org tick not installed", func() (Response, error) { return svc.Tick(ctx, other, "org_per_7d") }, "not installed", "", ""},
		{"org tick nil org", func() (Response, error) { return svc.Tick(ctx, nil, "org_per_1h") }, "org is nil", "", ""},
		{"global tick", func() (Response, error) { return svc.Tick(ctx, nil, "once_per_30d") }, "", "once_per_30d", ""},
		{"global tick with org", func() (Response, error) { return svc.Tick(ctx, org, "once_per_1h") }, "nil org", "", ""},
		{"sensor tick via Tick", func() (Response, error) { return svc.Tick(ctx, org, "sensor_per_1h") }, "TickSensor", "", ""},
		{"unknown period", func() (Response, error) { return svc.Tick(ctx, org, "org_per_2h") }, "not a scheduled etype", "", ""},
		{"not a tick", func() (Response, error) { return svc.Tick(ctx, org, "request") }, "not a scheduled etype", "", ""},
		{"sensor tick", func() (Response, error) { return svc.TickSensor(ctx, sensor, "sensor_per_24h") }, "", "sensor_per_24h", org.OID},
		{"sensor tick wrong etype", func() (Response, error) { return svc.TickSensor(ctx, sensor, "org_per_1h") }, "not a sensor_per_*", "", ""},
		{"sensor tick nil", func() (Response, error) { return svc.TickSensor(ctx, nil, "sensor_per_1h") }, "sensor is nil", "", ""},
		{"request not installed", func() (Response, error) { return svc.Request(ctx, other, nil) }, "call Install first", "", ""},
		{"deliver needs an etype", func() (Response, error) { return svc.Deliver(ctx, "", org, nil) }, "etype is empty", "", ""},
		{"deliver bad data", func() (Response, error) { return svc.Deliver(ctx, "request", org, make(chan int)) }, "encoding data", "", ""},
		{"install nil", func() (Response, error) { return svc.Install(ctx, nil) }, "org is nil", "", ""},
		{"command via Deliver", func() (Response, error) {
			return svc.Deliver(ctx, "command", org, json.RawMessage(`{"command_name":"scan","sid":"x"}`))
		}, "", "command", org.OID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(svc.Exchanges())
			_, err := tt.call()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if len(svc.Exchanges()) != n {
					t.Fatal("a refused call delivered a webhook")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			xs := svc.Exchanges()
			if len(xs) != n+1 || xs[n].EType != tt.etype || xs[n].OID != tt.oid {
				t.Fatalf("last exchange = %+v, want %s to %q", xs[len(xs)-1], tt.etype, tt.oid)
			}
		})
	}
	if envs := f.envelopes("sensor_per_24h"); len(envs) != 1 || envs[0]["data"].(map[string]any)["sid"] != sensor.SID {
		t.Errorf("sensor tick data = %v, want the sid", envs)
	}
}

func TestRedelivery(t *testing.T) {
	retry := map[string]any{"success": false, "retry": true, "error": "busy", "data": map[string]any{}}
	ok := map[string]any{"success": true, "data": map[string]any{"done": true}}
	fail := map[string]any{"success": false, "retry": false, "error": "no", "data": map[string]any{}}
	tests := []struct {
		name     string
		max      int
		answers  []any // per attempt; the last repeats
		attempts int
		success  bool
	}{
		{"success at once", 2, []any{ok}, 1, true},
		{"retry then success", 2, []any{retry, ok}, 2, true},
		{"always retry, bounded", 2, []any{retry}, 3, false},
		{"no redelivery", 0, []any{retry}, 1, false},
		{"failure without retry", 2, []any{fail}, 1, false},
		{"retry=true with success=true is not retried", 2, []any{map[string]any{"success": true, "retry": true}}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCloud(t, WithMaxRedeliveries(tt.max))
			org := c.NewOrg("acme")
			attempt := 0
			f := &fakeService{answer: func(map[string]any) any {
				a := tt.answers[min(attempt, len(tt.answers)-1)]
				attempt++
				return a
			}}
			svc := register(t, c, f)
			svc.setInstalled(org.OID, true) // skip org_install: only request answers
			resp, err := svc.Request(testContext(t), org, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Success != tt.success {
				t.Errorf("final response = %+v", resp)
			}
			envs := f.envelopes("request")
			if len(envs) != tt.attempts {
				t.Fatalf("%d deliveries, want %d", len(envs), tt.attempts)
			}
			xs := svc.Exchanges()[1:] // after health
			for i, x := range xs {
				if x.MID != envs[0]["mid"] || envs[i]["mid"] != envs[0]["mid"] || x.Attempt != i+1 {
					t.Errorf("attempt %d: mid %v / %v, attempt %d", i, x.MID, envs[i]["mid"], x.Attempt)
				}
			}
		})
	}
}

func TestDefaultMaxRedeliveries(t *testing.T) {
	c := newTestCloud(t, WithMaxRedeliveries(-5), nil)
	if c.maxRedeliveries != 0 {
		t.Fatalf("negative redeliveries = %d, want 0", c.maxRedeliveries)
	}
	c = newTestCloud(t)
	org := c.NewOrg("acme")
	f := &fakeService{answer: func(map[string]any) any { return map[string]any{"success": false, "retry": true} }}
	svc := register(t, c, f)
	if _, err := svc.Install(testContext(t), org); err != nil {
		t.Fatal(err)
	}
	if n := len(f.envelopes("org_install")); n != 1+DefaultMaxRedeliveries {
		t.Fatalf("%d deliveries, want %d", n, 1+DefaultMaxRedeliveries)
	}
}

func TestTransportFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int
		want    string
	}{
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) }, 200, "not the response JSON"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }, 500, "HTTP 500"},
		{"panic", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") }, 0, "panicked: kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCloud(t)
			org := c.NewOrg("acme")
			f := &fakeService{secret: []byte("k")}
			var registered atomic.Bool // health goes to f, the rest to tt.handler
			svc, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: "k",
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !registered.Load() {
						f.ServeHTTP(w, r)
						return
					}
					tt.handler(w, r)
				})})
			if err != nil {
				t.Fatal(err)
			}
			registered.Store(true)
			resp, err := svc.Deliver(testContext(t), "request", org, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || resp.Status != tt.status {
				t.Fatalf("Deliver = %+v, %v; want status %d and an error containing %q", resp, err, tt.status, tt.want)
			}
			if xs := svc.Exchanges(); len(xs) != 2 || xs[1].Err == nil {
				t.Fatalf("exchanges = %+v, want the failed one recorded once (no redelivery)", xs)
			}
		})
	}
}

func TestJobsMergedAcrossResponses(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	const id = "6f1c2a0e-1111-4222-8333-944445555666"
	answers := []any{
		map[string]any{"success": true, "data": map[string]any{}, "jobs": []any{
			map[string]any{"id": id, "start": 1000, "cause": "suspicious process", "sid": []string{"s1"},
				"hist": []any{map[string]any{"ts": 1001, "msg": "started", "is_important": false}}},
		}},
		map[string]any{"success": true, "data": map[string]any{}, "jobs": []any{
			map[string]any{"id": id, "sid": []string{"s1", "s2"},
				"hist": []any{map[string]any{"ts": 2001, "msg": "tree", "is_important": true,
					"attachments": []any{map[string]any{"att_type": "json", "caption": "c", "data": "{}"}}}}},
			map[string]any{"id": "other", "start": 5, "cause": "x"},
		}},
		map[string]any{"success": true, "data": map[string]any{}, "jobs": []any{
			map[string]any{"id": id, "end": 3000},
		}},
	}
	n := 0
	f := &fakeService{answer: func(map[string]any) any { a := answers[n]; n++; return a }}
	svc := register(t, c, f)
	svc.setInstalled(org.OID, true)
	for range answers {
		resp, err := svc.Request(testContext(t), org, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Jobs) == 0 {
			t.Fatal("the response's jobs were not decoded")
		}
	}
	j, ok := svc.Job(id)
	if !ok {
		t.Fatal("job not found")
	}
	want := Job{ID: id, Start: 1000, End: 3000, Cause: "suspicious process", Sensors: []string{"s1", "s2"}}
	if j.ID != want.ID || j.Start != want.Start || j.End != want.End || j.Cause != want.Cause || len(j.Sensors) != 2 {
		t.Errorf("merged job = %+v", j)
	}
	if len(j.Hist) != 2 || j.Hist[0].Msg != "started" || j.Hist[1].Msg != "tree" || !j.Hist[1].Important || len(j.Hist[1].Attachments) != 1 {
		t.Errorf("merged history = %+v", j.Hist)
	}
	all := svc.Jobs()
	if len(all) != 2 || all[0].ID != id || all[1].ID != "other" {
		t.Errorf("Jobs() = %+v", all)
	}
	if _, ok := svc.Job("missing"); ok {
		t.Error("Job found a job never sent")
	}
	// Returned jobs are copies.
	all[0].Hist[0].Msg = "changed"
	if j2, _ := svc.Job(id); j2.Hist[0].Msg != "started" {
		t.Error("Jobs() aliases the recorded history")
	}
}

func TestServiceByURL(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	f := &fakeService{secret: []byte("k"), subs: []string{"__svc-svc-ex"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	svc, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: "k", URL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Subscriptions(); len(got) != 1 || got[0] != "__svc-svc-ex" || len(svc.Callbacks()) != 3 || svc.Name() != "svc" {
		t.Fatalf("health metadata = %v %v", got, svc.Callbacks())
	}
	installWithRule(t, a, svc, org)
	a.task(org, s.SID, "svc-svc-ex/u", "os_version")
	waitIdle(t, c)
	if n := len(f.envelopes("detection")); n != 1 {
		t.Fatalf("%d detections over HTTP, want 1", n)
	}
	srv.Close()
	if _, err := svc.Health(testContext(t)); err == nil {
		t.Fatal("Health succeeded with the service down")
	}
}

func TestCallsAfterClose(t *testing.T) {
	c := NewCloud()
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	svc := register(t, c, &fakeService{})
	c.Close()
	c.Close() // idempotent
	if _, err := svc.Health(testContext(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Health after Close = %v, want ErrClosed", err)
	}
	if err := s.Emit(testContext(t), Event{Type: "X"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Emit after Close = %v, want ErrClosed", err)
	}
	if err := c.WaitIdle(testContext(t)); err != nil {
		t.Errorf("WaitIdle after Close = %v", err)
	}
}

func TestSetHandlerRestartsBehindTheSameService(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	entered, release := make(chan struct{}), make(chan struct{})
	old := &fakeService{answer: func(env map[string]any) any {
		if env["etype"] == "request" {
			close(entered)
			<-release
		}
		return map[string]any{"success": true, "data": map[string]any{"from": "old"}}
	}}
	svc := register(t, c, old)
	ctx := testContext(t)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan Response, 1)
	go func() {
		resp, _ := svc.Request(ctx, org, map[string]any{})
		inFlight <- resp
	}()
	<-entered

	fresh := &fakeService{secret: old.secret, answer: func(map[string]any) any {
		return map[string]any{"success": true, "data": map[string]any{"from": "fresh"}}
	}}
	swapped := make(chan struct{})
	go func() {
		svc.SetHandler(fresh)
		close(swapped)
	}()
	select {
	case <-swapped:
		t.Fatal("SetHandler returned while a delivery to the old handler was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-swapped
	if resp := <-inFlight; string(resp.Data) != `{"from":"old"}` {
		t.Errorf("in-flight delivery answered by %s", resp.Data)
	}
	resp, err := svc.Tick(ctx, org, "org_per_1h")
	if err != nil || string(resp.Data) != `{"from":"fresh"}` {
		t.Errorf("after SetHandler: %s %v", resp.Data, err)
	}
	if len(old.envelopes("org_per_1h")) != 0 || len(fresh.envelopes("org_per_1h")) != 1 {
		t.Error("the tick went to the wrong handler")
	}
}
