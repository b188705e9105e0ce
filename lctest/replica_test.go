package lctest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// newReplicas returns n fake services sharing one secret and subscription.
func newReplicas(n int) []*fakeService {
	out := make([]*fakeService, n)
	for i := range out {
		out[i] = &fakeService{secret: []byte("s3cret"), subs: []string{"__svc-svc-ex"}}
	}
	return out
}

func handlers[H http.Handler](hs []H) []http.Handler {
	out := make([]http.Handler, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// registerReplicas registers the replicas as service "svc".
func registerReplicas(t *testing.T, c *Cloud, reps []http.Handler, b Balance, seed int64) *Service {
	t.Helper()
	svc, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: "s3cret", Replicas: reps, Balance: b, Seed: seed})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if n := svc.Replicas(); n != len(reps) {
		t.Fatalf("Replicas() = %d, want %d", n, len(reps))
	}
	return svc
}

// replicasOf lists the replica of each of the service's exchanges of etype.
func replicasOf(svc *Service, etype string) []int {
	var out []int
	for _, x := range svc.Exchanges() {
		if x.EType == etype {
			out = append(out, x.Replica)
		}
	}
	return out
}

func TestRoundRobinSpreadsWebhooksEvenly(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	reps := newReplicas(3)
	svc := registerReplicas(t, c, handlers(reps), RoundRobin, 0)
	if _, err := svc.Install(ctx, org); err != nil {
		t.Fatal(err)
	}
	for range 9 {
		if _, err := svc.Request(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
	}
	// health went to 0, org_install to 1, then the requests go on from 2.
	var got []int
	for _, x := range svc.Exchanges() {
		got = append(got, x.Replica)
	}
	if want := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("replicas in order %v, want %v", got, want)
	}
	for i, f := range reps {
		if n := len(f.envelopes("request")); n != 3 {
			t.Errorf("replica %d got %d requests, want 3", i, n)
		}
	}
	var webhooks []int
	for _, a := range c.Activities() {
		if a.Kind == ActivityWebhook {
			webhooks = append(webhooks, a.Replica)
		}
	}
	if !slices.Equal(webhooks, got) {
		t.Errorf("webhook activities name replicas %v, exchanges %v", webhooks, got)
	}

	// Concurrent deliveries are spread as evenly.
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			if _, err := svc.Tick(ctx, org, "org_per_1h"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, f := range reps {
		if n := len(f.envelopes("org_per_1h")); n != 10 {
			t.Errorf("replica %d got %d of 30 concurrent ticks, want 10", i, n)
		}
	}
}

func TestRetriesAreBalancedAcrossReplicas(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	var calls atomic.Int32
	reps := newReplicas(3)
	for _, f := range reps {
		f.answer = func(map[string]any) any {
			if calls.Add(1) < 3 {
				return map[string]any{"success": false, "retry": true}
			}
			return map[string]any{"success": true}
		}
	}
	svc := registerReplicas(t, c, handlers(reps), RoundRobin, 0) // health: replica 0
	if resp, err := svc.Deliver(ctx, "request", org, nil); err != nil || !resp.Success {
		t.Fatalf("Deliver: %+v %v", resp, err)
	}
	xs := svc.Exchanges()[1:]
	if len(xs) != 3 {
		t.Fatalf("%d attempts, want 3", len(xs))
	}
	for i, x := range xs {
		if x.MID != xs[0].MID || x.Attempt != i+1 || x.Replica != (i+1)%3 {
			t.Errorf("attempt %d: mid %s attempt %d replica %d; want mid %s, replica %d", i+1, x.MID, x.Attempt, x.Replica, xs[0].MID, (i+1)%3)
		}
	}
}

// replicaSequence delivers 30 ticks to three Random replicas seeded with
// seed and returns the replica of each.
func replicaSequence(t *testing.T, seed int64) []int {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	reps := newReplicas(3)
	svc := registerReplicas(t, c, handlers(reps), Random, seed)
	for range 30 {
		if _, err := svc.Deliver(ctx, "org_per_1h", org, nil); err != nil {
			t.Fatal(err)
		}
	}
	seq := replicasOf(svc, "org_per_1h")
	for i, f := range reps {
		if got, want := len(f.envelopes("org_per_1h")), countOf(seq, i); got != want {
			t.Errorf("replica %d got %d ticks, the record says %d", i, got, want)
		}
	}
	return seq
}

func countOf(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

func TestRandomBalanceIsReproducibleAndUsesEveryReplica(t *testing.T) {
	first := replicaSequence(t, 42)
	if again := replicaSequence(t, 42); !slices.Equal(first, again) {
		t.Errorf("seed 42 chose %v, then %v", first, again)
	}
	for i := range 3 {
		if countOf(first, i) == 0 {
			t.Errorf("replica %d got none of 30 ticks: %v", i, first)
		}
	}
	if other := replicaSequence(t, 7); slices.Equal(first, other) {
		t.Errorf("seeds 42 and 7 chose the same replicas: %v", first)
	}
}

// gated passes requests on to next, but holds the first request webhook
// until release is closed, telling entered when it holds it and setting
// done once that request has been answered.
type gated struct {
	next             http.Handler
	entered, release chan struct{}
	once             sync.Once
	done             atomic.Bool
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	held := false
	if bytes.Contains(body, []byte(`"etype":"request"`)) {
		g.once.Do(func() {
			held = true
			close(g.entered)
			<-g.release
		})
	}
	g.next.ServeHTTP(w, r)
	if held {
		g.done.Store(true)
	}
}

func TestStopReplicaMidRun(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	reps := newReplicas(3)
	g := &gated{next: reps[1], entered: make(chan struct{}), release: make(chan struct{})}
	svc := registerReplicas(t, c, []http.Handler{reps[0], g, reps[2]}, RoundRobin, 0)
	if _, err := svc.Install(ctx, org); err != nil { // org_install: replica 1
		t.Fatal(err)
	}
	for range 2 { // replicas 2 and 0
		if _, err := svc.Request(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan error, 1)
	go func() { // replica 1, held by the gate
		_, err := svc.Request(ctx, org, nil)
		held <- err
	}()
	<-g.entered
	stopped := make(chan bool, 1)
	go func() {
		if err := svc.StopReplica(1); err != nil {
			t.Error(err)
		}
		stopped <- g.done.Load()
	}()
	close(g.release)
	if !<-stopped {
		t.Error("StopReplica returned while a delivery to the replica was in flight")
	}
	if err := <-held; err != nil {
		t.Errorf("the delivery in flight to the stopped replica: %v", err)
	}
	if err := svc.StopReplica(1); err != nil {
		t.Errorf("stopping a stopped replica: %v", err)
	}

	before := len(reps[1].envelopes("request"))
	for range 4 {
		if _, err := svc.Request(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := replicasOf(svc, "request")[3:]; !slices.Equal(got, []int{2, 0, 2, 0}) {
		t.Errorf("with replica 1 stopped, requests went to %v, want [2 0 2 0]", got)
	}
	if n := len(reps[1].envelopes("request")); n != before {
		t.Errorf("the stopped replica got %d more requests", n-before)
	}

	fresh := &fakeService{secret: []byte("s3cret")}
	if err := svc.StartReplica(1, fresh); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.Request(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := replicasOf(svc, "request")[7:]; !slices.Equal(got, []int{1, 2, 0}) {
		t.Errorf("after StartReplica(1), requests went to %v, want [1 2 0]", got)
	}
	if n := len(fresh.envelopes("request")); n != 1 {
		t.Errorf("the restarted replica's handler got %d requests, want 1", n)
	}
	if n := len(reps[1].envelopes("request")); n != before {
		t.Errorf("the old handler of replica 1 got %d requests after the restart", n-before)
	}
}

func TestAllReplicasStoppedRefusesDelivery(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	sensor := org.AddSensor(SensorConfig{})
	reps := newReplicas(2)
	svc := registerReplicas(t, c, handlers(reps), RoundRobin, 0)
	installWithRule(t, a, svc, org)
	for i := range 2 {
		if err := svc.StopReplica(i); err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.Request(ctx, org, nil)
	if !errors.Is(err, ErrReplicasStopped) {
		t.Fatalf("Request with every replica stopped: %v, want ErrReplicasStopped", err)
	}
	xs := svc.Exchanges()
	if x := xs[len(xs)-1]; x.EType != "request" || x.Replica != -1 || !errors.Is(x.Err, ErrReplicasStopped) {
		t.Errorf("exchange %+v", x)
	}

	// A detection is not dropped either: its attempt is in the record
	// with the error.
	a.task(org, sensor.SID, "svc-svc-ex/tok", "os_version")
	waitIdle(t, c)
	var refused int
	for _, x := range svc.Exchanges() {
		if x.EType == "detection" && x.Replica == -1 && errors.Is(x.Err, ErrReplicasStopped) {
			refused++
		}
	}
	if refused != 1 || len(svc.Detections()) != 1 {
		t.Errorf("%d refused detection attempts, %d detections; want 1 and 1", refused, len(svc.Detections()))
	}
	if len(reps[0].envelopes("detection"))+len(reps[1].envelopes("detection")) != 0 {
		t.Error("a stopped replica got the detection")
	}

	if err := svc.StartReplica(1, reps[1]); err != nil {
		t.Fatal(err)
	}
	if resp, err := svc.Request(ctx, org, nil); err != nil || !resp.Success {
		t.Fatalf("Request after StartReplica: %+v %v", resp, err)
	}
	if got := replicasOf(svc, "request"); got[len(got)-1] != 1 {
		t.Errorf("the request went to replica %d, want 1", got[len(got)-1])
	}
}

// rawRecorder keeps the body and signature of every request, then
// passes it on.
type rawRecorder struct {
	next http.Handler
	mu   sync.Mutex
	raws [][]byte
	sigs []string
}

func (r *rawRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.raws = append(r.raws, body)
	r.sigs = append(r.sigs, req.Header.Get(SignatureHeader)+req.Header.Get(ExtensionSignatureHeader))
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

func (r *rawRecorder) last() ([]byte, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.raws[len(r.raws)-1], r.sigs[len(r.sigs)-1]
}

// find returns the raw body, perhaps gzipped, that decompresses to plain,
// and its signature.
func (r *rawRecorder) find(t *testing.T, plain []byte) ([]byte, string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, raw := range r.raws {
		got := raw
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			got, _ = io.ReadAll(zr)
		}
		if bytes.Equal(got, plain) {
			return raw, r.sigs[i]
		}
	}
	t.Fatalf("the replica never got %s", plain)
	return nil, ""
}

func TestRedeliverSendsTheSameMIDToAnotherReplica(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	reps := newReplicas(3)
	recs := make([]*rawRecorder, 3)
	for i, f := range reps {
		recs[i] = &rawRecorder{next: f}
	}
	svc := registerReplicas(t, c, handlers(recs), RoundRobin, 0)
	if _, err := svc.Deliver(ctx, "request", org, map[string]any{"n": 1}); err != nil { // replica 1
		t.Fatal(err)
	}
	xs := svc.Exchanges()
	first := xs[len(xs)-1]
	if resp, err := svc.Redeliver(ctx, first); err != nil || !resp.Success {
		t.Fatalf("Redeliver: %+v %v", resp, err)
	}
	xs = svc.Exchanges()
	again := xs[len(xs)-1]
	if again.MID != first.MID || again.Attempt != 2 || again.Replica != 2 || !bytes.Equal(again.Request, first.Request) {
		t.Errorf("redelivery: mid %s attempt %d replica %d; first: mid %s attempt %d replica %d",
			again.MID, again.Attempt, again.Replica, first.MID, first.Attempt, first.Replica)
	}
	body1, sig1 := recs[1].last()
	body2, sig2 := recs[2].last()
	if !bytes.Equal(body1, body2) || sig1 != sig2 || sig1 == "" {
		t.Errorf("replica 2 got a different body or signature:\n%s %s\n%s %s", body1, sig1, body2, sig2)
	}
	if got := reps[2].envelopes("request"); len(got) != 1 || got[0]["mid"] != first.MID {
		t.Errorf("replica 2 got %v", got)
	}
	// Redelivering the redelivery is the third attempt of the same message.
	if _, err := svc.Redeliver(ctx, again); err != nil {
		t.Fatal(err)
	}
	xs = svc.Exchanges()
	if x := xs[len(xs)-1]; x.MID != first.MID || x.Attempt != 3 || x.Replica != 0 {
		t.Errorf("third attempt: mid %s attempt %d replica %d", x.MID, x.Attempt, x.Replica)
	}

	if _, err := svc.Redeliver(ctx, Exchange{MID: first.MID, Request: first.Request}); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("Redeliver of a hand-made exchange: %v", err)
	}
	other, err := c.Register(ctx, ServiceConfig{Name: "other", Secret: "s3cret", Handler: &fakeService{secret: []byte("s3cret")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Redeliver(ctx, first); err == nil {
		t.Error("a service redelivered another service's exchange")
	}
}

func TestExtensionAcrossReplicas(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	exts := make([]*fakeExt, 3)
	recs := make([]*rawRecorder, 3)
	for i := range exts {
		exts[i] = &fakeExt{secret: []byte("ext-secret"), answer: func(m extMessage) (int, any) {
			if m.Request.Action == "cont" {
				return 200, map[string]any{"continuations": []map[string]any{{"in_delay_sec": 0, "action": "chain", "state": map[string]any{"k": 1}}}}
			}
			return 200, map[string]any{}
		}}
		recs[i] = &rawRecorder{next: exts[i]}
	}
	svc, err := c.Register(ctx, ServiceConfig{Name: "ext", Secret: "ext-secret", Protocol: Extension, Replicas: handlers(recs)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Install(ctx, org); err != nil { // heartbeat 0, schema_request 1, subscribe 2
		t.Fatal(err)
	}
	for range 6 {
		if _, err := svc.Request(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range exts {
		if n := len(f.requests("run")); n != 2 {
			t.Errorf("replica %d got %d of 6 requests, want 2", i, n)
		}
	}
	var got []int
	for _, x := range svc.Exchanges() {
		got = append(got, x.Replica)
	}
	if want := []int{0, 1, 2, 0, 1, 2, 0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("replicas in order %v, want %v", got, want)
	}

	// A redelivered request carries the same idempotency key and the same
	// compressed, signed body; its continuation is scheduled again under
	// the same key, as the cloud would.
	if _, err := svc.RequestAction(ctx, org, "cont", nil); err != nil { // replica 0
		t.Fatal(err)
	}
	waitIdle(t, c)
	var first Exchange
	for _, x := range svc.Exchanges() {
		if x.Action == "cont" {
			first = x
		}
	}
	if _, err := svc.Redeliver(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, c)
	var conts []Exchange
	for _, x := range svc.Exchanges() {
		switch x.Action {
		case "cont":
			if x.Attempt == 2 && (x.MID != first.MID || x.Replica == first.Replica || !bytes.Equal(x.Request, first.Request)) {
				t.Errorf("redelivered request: key %s replica %d; first: key %s replica %d", x.MID, x.Replica, first.MID, first.Replica)
			}
		case "chain":
			conts = append(conts, x)
		}
	}
	if len(conts) != 2 || conts[0].MID != first.MID+":1" || conts[1].MID != conts[0].MID {
		t.Errorf("continuations %d, keys %v; want two keyed %s:1", len(conts), conts, first.MID)
	}
	var second Exchange
	for _, x := range svc.Exchanges() {
		if x.Action == "cont" && x.Attempt == 2 {
			second = x
		}
	}
	if second.Attempt != 2 || second.MID != first.MID || second.Replica == first.Replica {
		t.Fatalf("redelivery: attempt %d key %s replica %d; first: key %s replica %d", second.Attempt, second.MID, second.Replica, first.MID, first.Replica)
	}
	raw1, sig1 := recs[first.Replica].find(t, first.Request)
	redone, sigR := recs[second.Replica].find(t, first.Request)
	if !bytes.Equal(raw1, redone) || sig1 != sigR {
		t.Error("the redelivery's compressed body or signature differs from the first delivery's")
	}
	zr, err := gzip.NewReader(bytes.NewReader(redone))
	if err != nil {
		t.Fatalf("the redelivered body is not gzip: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, first.Request) || !VerifySignature([]byte("ext-secret"), plain, sigR) {
		t.Error("the redelivered body is not the signed message")
	}
}

func TestDetectionsAreBalancedAcrossReplicas(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	sensor := org.AddSensor(SensorConfig{})
	reps := newReplicas(3)
	svc := registerReplicas(t, c, handlers(reps), RoundRobin, 0)
	installWithRule(t, a, svc, org)
	for range 6 {
		a.task(org, sensor.SID, "svc-svc-ex/tok", "os_version")
	}
	waitIdle(t, c)
	if n := len(svc.Detections()); n != 6 {
		t.Fatalf("%d detections, want 6", n)
	}
	for i, f := range reps {
		if n := len(f.envelopes("detection")); n != 2 {
			t.Errorf("replica %d got %d of 6 detections, want 2", i, n)
		}
	}
}

func TestReplicaConfigurationErrors(t *testing.T) {
	ctx := testContext(t)
	c := newTestCloud(t)
	h := &fakeService{secret: []byte("s3cret")}
	for _, tc := range []struct {
		name string
		cfg  ServiceConfig
		want string
	}{
		{"handler and replicas", ServiceConfig{Handler: h, Replicas: []http.Handler{h}}, "exactly one of ServiceConfig.Handler, ServiceConfig.URL and ServiceConfig.Replicas"},
		{"url and replicas", ServiceConfig{URL: "http://127.0.0.1:1/", Replicas: []http.Handler{h}}, "exactly one of"},
		{"nil replica", ServiceConfig{Replicas: []http.Handler{h, nil}}, "Replicas[1] is nil"},
		{"unknown balance", ServiceConfig{Replicas: []http.Handler{h}, Balance: 9}, "neither RoundRobin nor Random"},
	} {
		tc.cfg.Name, tc.cfg.Secret = "svc", "s3cret"
		if _, err := c.Register(ctx, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Register = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if len(h.envelopes("health")) != 0 {
		t.Error("a refused configuration was sent health")
	}

	reps := newReplicas(2)
	svc := registerReplicas(t, c, handlers(reps), RoundRobin, 0)
	for _, i := range []int{-1, 2} {
		if err := svc.StopReplica(i); err == nil || !strings.Contains(err.Error(), "replicas 0 to 1") {
			t.Errorf("StopReplica(%d) = %v", i, err)
		}
		if err := svc.StartReplica(i, h); err == nil {
			t.Errorf("StartReplica(%d) succeeded", i)
		}
	}
	if err := svc.StartReplica(0, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("StartReplica with a nil handler = %v", err)
	}

	// SetHandler replaces replica 0 only.
	fresh := &fakeService{secret: []byte("s3cret")}
	svc.SetHandler(fresh)
	org := c.NewOrg("acme")
	for range 2 {
		if _, err := svc.Deliver(ctx, "org_per_1h", org, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(fresh.envelopes("org_per_1h")) != 1 || len(reps[0].envelopes("org_per_1h")) != 0 || len(reps[1].envelopes("org_per_1h")) != 1 {
		t.Error("SetHandler did not replace replica 0 alone")
	}

	// A single-handler service is replica 0.
	single := register(t, newTestCloud(t), &fakeService{})
	if single.Replicas() != 1 || single.Exchanges()[0].Replica != 0 {
		t.Errorf("single handler: %d replicas, health to replica %d", single.Replicas(), single.Exchanges()[0].Replica)
	}
}
