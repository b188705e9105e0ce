package extension_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

func context0() context.Context { return context.Background() }

func TestHeartbeatAndUnsigned(t *testing.T) {
	svc, _ := newService(t, nil)
	var runs atomic.Int32
	svc.OnRequest(func(context.Context, *service.Request) service.Response {
		runs.Add(1)
		return service.OK(nil)
	})
	c := newCloud(t, svc)
	if a := c.send(map[string]any{"heartbeat": map[string]any{}}); a.Status != 200 || a.Raw != "{}" {
		t.Errorf("heartbeat: %d %s", a.Status, a.Raw)
	}
	if a := c.send(map[string]any{"heartbeat": map[string]any{}}, gzipped()); a.Status != 200 || a.Raw != "{}" {
		t.Errorf("gzip heartbeat: %d %s", a.Status, a.Raw)
	}
	// Unsigned: 200 {} and nothing runs, whatever the body.
	if a := c.request("request", map[string]any{}, signedAs("")); a.Status != 200 || a.Raw != "{}" {
		t.Errorf("unsigned: %d %s", a.Status, a.Raw)
	}
	if runs.Load() != 0 {
		t.Error("an unsigned request ran the handler")
	}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz: %d", rec.Code)
	}
}

func TestSignatures(t *testing.T) {
	svc, _ := newService(t, nil)
	var runs atomic.Int32
	svc.OnRequest(func(context.Context, *service.Request) service.Response {
		runs.Add(1)
		return service.OK(map[string]string{"hello": "world"})
	})
	c := newCloud(t, svc)
	raw := []byte(`{"version":20221218,"idempotency_key":"k1","request":{"org":{"oid":"` + testOID + `","jwt":"j"},"action":"request","data":{}}}`)
	good := service.Sign([]byte(testSecret), raw)
	for name, sig := range map[string]string{
		"wrong secret": service.Sign([]byte("nope"), raw),
		"other body":   service.Sign([]byte(testSecret), []byte("{}")),
		"truncated":    good[:40],
		"garbage":      "not-hex",
	} {
		if a := c.post(raw, signedAs(sig)); a.Status != 401 || a.retriable() {
			t.Errorf("%s: %d %s", name, a.Status, a.Raw)
		}
		if a := c.post(raw, signedAs(sig), gzipped()); a.Status != 401 {
			t.Errorf("%s gzipped: %d", name, a.Status)
		}
	}
	if runs.Load() != 0 {
		t.Fatal("a refused request ran the handler")
	}
	// The signature covers the decompressed bytes: the same signature is
	// good for the plain and the gzipped body.
	if a := c.post(raw, signedAs(good), gzipped()); a.Status != 200 || !strings.Contains(string(a.Data), "world") {
		t.Errorf("gzip: %d %s", a.Status, a.Raw)
	}
	raw2 := bytes.Replace(raw, []byte(`"k1"`), []byte(`"k2"`), 1)
	if a := c.post(raw2, signedAs(strings.ToUpper(service.Sign([]byte(testSecret), raw2)))); a.Status != 200 {
		t.Errorf("plain, uppercase signature: %d %s", a.Status, a.Raw)
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.Load())
	}
}

func TestSchemaFromParamsAndCommands(t *testing.T) {
	svc, _ := newService(t, nil, extension.WithRequestDescription("look at a sensor"))
	h := func(context.Context, *service.Request) service.Response { return service.OK(nil) }
	svc.SetRequestParams(service.Params{
		"sid":   {Type: service.ParamSID, Description: "sensor", Required: true, Index: 1},
		"scope": {Type: service.ParamEnum, Description: "what", Values: []string{"summary", "full"}, Index: 2},
		"limit": {Type: service.ParamInt, Description: "rows", Index: 3},
		"ratio": {Type: service.ParamFloat, Description: "share"},
		"id":    {Type: service.ParamUUID, Description: "an id", Required: true},
		"name":  {Type: service.ParamStr},
		"all":   {Type: service.ParamBool},
	})
	svc.OnRequest(h)
	svc.AddCommand(service.Command{Name: "scan", Description: "scan a host", Args: service.Params{"depth": {Type: service.ParamInt, Required: true}}, Handler: h})
	svc.SubscribeDetections("evil")
	svc.OnDetection(h)
	svc.OnTick(service.OrgPer24h, h)
	svc.OnTick(service.OncePer1h, h)
	c := newCloud(t, svc)
	a := c.send(map[string]any{"schema_request": map[string]any{}})
	if a.Status != 200 || a.Version != extension.ProtocolVersion {
		t.Fatalf("schema: %d %s", a.Status, a.Raw)
	}
	var s extension.Schema
	a.dataField(t, &s)
	req := s.RequestSchema["request"]
	if !req.IsDefault || !req.IsUserFacing || req.ShortDescription != "look at a sensor" {
		t.Errorf("request action %+v", req)
	}
	want := map[string]extension.SchemaElement{
		"sid":   {Description: "sensor", DataType: "sid", DisplayIndex: 1},
		"scope": {Description: "what", DataType: "enum", DisplayIndex: 2, EnumValues: []string{"summary", "full"}},
		"limit": {Description: "rows", DataType: "integer", DisplayIndex: 3},
		"ratio": {Description: "share (a decimal number)", DataType: "string"},
		"id":    {Description: "an id", DataType: "string"},
		"name":  {DataType: "string"},
		"all":   {DataType: "bool"},
	}
	for name, w := range want {
		got := req.Parameters.Fields[name]
		if got.DataType != w.DataType || got.Description != w.Description || got.DisplayIndex != w.DisplayIndex || strings.Join(got.EnumValues, ",") != strings.Join(w.EnumValues, ",") {
			t.Errorf("field %s = %+v, want %+v", name, got, w)
		}
	}
	if r, _ := json.Marshal(req.Parameters.Requirements); string(r) != `[["id"],["sid"]]` {
		t.Errorf("requirements %s", r)
	}
	scan := s.RequestSchema["scan"]
	if !scan.IsUserFacing || scan.ShortDescription != "scan a host" || scan.Parameters.Fields["depth"].DataType != "integer" || len(scan.Parameters.Requirements) != 1 {
		t.Errorf("scan action %+v", scan)
	}
	for _, internal := range []string{extension.DetectionAction, extension.TickActionPrefix + "org_per_24h"} {
		if a, ok := s.RequestSchema[internal]; !ok || a.IsUserFacing {
			t.Errorf("internal action %s: %+v %v", internal, a, ok)
		}
	}
	if _, ok := s.RequestSchema[extension.TickActionPrefix+"once_per_1h"]; ok {
		t.Error("once_per_1h has no counterpart but got an action")
	}
	if strings.Join(s.RequiredEvents, ",") != "subscribe,unsubscribe,update" {
		t.Errorf("required_events %v", s.RequiredEvents)
	}
	if !strings.Contains(a.Raw, `"config_schema":{"fields":{},"requirements":[]}`) || !strings.Contains(a.Raw, `"response":null`) {
		t.Errorf("schema JSON: %s", a.Raw)
	}
}

func TestResponsesMapToStatuses(t *testing.T) {
	svc, _ := newService(t, nil)
	svc.SetRequestParams(service.Params{"mode": {Type: service.ParamEnum, Values: []string{"ok", "fail", "retry", "panic", "job", "bad"}, Required: true}})
	svc.OnRequest(func(ctx context.Context, r *service.Request) service.Response {
		switch r.String("mode") {
		case "fail":
			return service.Failf("no such thing")
		case "retry":
			return service.Retry(errors.New("try later"))
		case "panic":
			panic("boom")
		case "job":
			j := jobs.New()
			j.SetCause("checked")
			j.Narrate("all good", false)
			j.Close()
			return service.OK(map[string]any{"n": 1}).WithJobs(j)
		case "bad":
			return service.OK([]int{1})
		}
		return service.OK(map[string]any{"n": 1})
	})
	c := newCloud(t, svc)
	cases := []struct {
		mode      string
		status    int
		retriable bool
		errPart   string
	}{
		{"ok", 200, false, ""},
		{"fail", 400, false, "no such thing"},
		{"retry", 500, true, "try later"},
		{"panic", 500, true, "panicked"},
		{"bad", 400, false, "JSON object"},
	}
	for _, tc := range cases {
		a := c.request("request", map[string]any{"mode": tc.mode})
		if a.Status != tc.status || !strings.Contains(a.Error, tc.errPart) {
			t.Errorf("%s: %d %s", tc.mode, a.Status, a.Raw)
		}
		if tc.status != 200 && a.retriable() != tc.retriable {
			t.Errorf("%s: retriable %v", tc.mode, a.retriable())
		}
		if tc.status == 200 && (a.Retriable != nil || a.Error != "") {
			t.Errorf("%s: %s", tc.mode, a.Raw)
		}
	}
	a := c.request("request", map[string]any{"mode": "job"})
	var d struct {
		N    int `json:"n"`
		Jobs []struct {
			Cause string `json:"cause"`
			End   int64  `json:"end"`
		} `json:"jobs"`
	}
	a.dataField(t, &d)
	if a.Status != 200 || d.N != 1 || len(d.Jobs) != 1 || d.Jobs[0].Cause != "checked" || d.Jobs[0].End == 0 {
		t.Errorf("job: %s", a.Raw)
	}
	// Parameter validation runs as on the service protocol.
	if a := c.request("request", map[string]any{}); a.Status != 400 || !strings.Contains(a.Error, "missing parameter mode") {
		t.Errorf("invalid params: %d %s", a.Status, a.Raw)
	}
}

func TestUnknownActionsAndEvents(t *testing.T) {
	svc, _ := newService(t, nil)
	c := newCloud(t, svc)
	for _, action := range []string{"nope", "request", extension.DetectionAction, extension.TickActionPrefix + "org_per_1h", "__lcsvc_other"} {
		if a := c.request(action, map[string]any{}); a.Status != 400 || a.retriable() || !strings.Contains(a.Error, "unknown action") {
			t.Errorf("%s: %d %s", action, a.Status, a.Raw)
		}
	}
	if a := c.event("renamed"); a.Status != 400 || !strings.Contains(a.Error, "unknown event") {
		t.Errorf("unknown event: %d %s", a.Status, a.Raw)
	}
	for name, raw := range map[string]string{
		"not JSON":   `{nope`,
		"array":      `[]`,
		"no kind":    `{"version":1,"idempotency_key":"x"}`,
		"two kinds":  `{"heartbeat":{},"schema_request":{}}`,
		"null kinds": `{"heartbeat":null}`,
	} {
		if a := c.post([]byte(raw)); a.Status != 400 {
			t.Errorf("%s: %d %s", name, a.Status, a.Raw)
		}
	}
	if a := c.send(map[string]any{"conf_validation": map[string]any{"org": org(), "conf": map[string]any{"x": 1}}}); a.Status != 200 {
		t.Errorf("conf_validation: %d %s", a.Status, a.Raw)
	}
}

func TestErrorReportReachesServiceError(t *testing.T) {
	svc, logs := newService(t, nil)
	got := make(chan string, 1)
	svc.OnServiceError(func(ctx context.Context, r *service.Request) service.Response {
		got <- r.String("error") + "|" + r.OID
		return service.OK(nil)
	})
	c := newCloud(t, svc)
	if a := c.send(map[string]any{"error_report": map[string]any{"error": "webhook timed out", "oid": testOID}}); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	if g := <-got; g != "webhook timed out|"+testOID {
		t.Errorf("service_error got %q", g)
	}
	if !strings.Contains(logs.String(), "webhook timed out") {
		t.Errorf("not logged: %s", logs.String())
	}
}

func TestCommandsAreActions(t *testing.T) {
	svc, _ := newService(t, nil)
	var got *service.Request
	svc.AddCommand(service.Command{Name: "scan", Args: service.Params{"depth": {Type: service.ParamInt, Required: true}},
		Handler: func(ctx context.Context, r *service.Request) service.Response {
			got = r
			return service.OK(nil)
		}})
	c := newCloud(t, svc)
	if a := c.request("scan", map[string]any{"depth": "3"}); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	if d, _ := got.Int("depth"); got.CommandName != "scan" || got.Action != "scan" || got.EventType != service.CommandEvent || d != 3 || got.Org().JWT != testJWT {
		t.Errorf("command request %+v", got)
	}
	if a := c.request("scan", map[string]any{}); a.Status != 400 || !strings.Contains(a.Error, "missing parameter depth") {
		t.Errorf("%d %s", a.Status, a.Raw)
	}
}

func TestDeadlineOnContext(t *testing.T) {
	const deadline = 42 * time.Second
	svc, _ := newService(t, nil, extension.WithDeadline(deadline))
	var got time.Time
	var has bool
	svc.OnRequest(func(ctx context.Context, r *service.Request) service.Response {
		got, has = ctx.Deadline()
		return service.OK(nil)
	})
	// The deadline is WithDeadline after the message arrived: between the
	// request's start and its end.
	before := time.Now()
	newCloud(t, svc).request("request", map[string]any{})
	after := time.Now()
	if !has || got.Before(before.Add(deadline)) || got.After(after.Add(deadline)) {
		t.Errorf("deadline %v (set: %v), want %v after the message arrived, between %v and %v", got, has, deadline, before.Add(deadline), after.Add(deadline))
	}
}

func TestIdempotencyKeyHandledOnce(t *testing.T) {
	svc, _ := newService(t, nil)
	var runs atomic.Int32
	blocked := make(chan struct{}, 10) // a handler waits for release
	release := make(chan struct{})
	svc.SetRequestParams(service.Params{"mode": {Type: service.ParamStr}})
	svc.OnRequest(func(ctx context.Context, r *service.Request) service.Response {
		n := runs.Add(1)
		switch r.String("mode") {
		case "retry":
			return service.Retry(errors.New("later"))
		case "block":
			blocked <- struct{}{}
			<-release
		}
		return service.OK(map[string]any{"run": n})
	})
	c := newCloud(t, svc)
	first := c.requestKeyed("dup-1", "request", map[string]any{})
	again := c.requestKeyed("dup-1", "request", map[string]any{})
	if runs.Load() != 1 || first.Status != 200 || again.Raw != first.Raw {
		t.Errorf("runs %d; first %s; again %d %s", runs.Load(), first.Raw, again.Status, again.Raw)
	}
	// A retriable failure is not recorded: the platform's retry runs again.
	c.requestKeyed("dup-2", "request", map[string]any{"mode": "retry"})
	c.requestKeyed("dup-2", "request", map[string]any{"mode": "retry"})
	if runs.Load() != 3 {
		t.Errorf("runs %d after two retriable deliveries, want 3", runs.Load())
	}
	// A repeat while the first is in progress is told to come back.
	var wg sync.WaitGroup
	wg.Go(func() { c.requestKeyed("dup-3", "request", map[string]any{"mode": "block"}) })
	bubble.Await(t, "the first delivery's handler", blocked)
	if a := c.requestKeyed("dup-3", "request", map[string]any{"mode": "block"}); a.Status != 500 || !a.retriable() {
		t.Errorf("in progress: %d %s", a.Status, a.Raw)
	}
	close(release)
	wg.Wait()
	if a := c.requestKeyed("dup-3", "request", map[string]any{"mode": "block"}); a.Status != 200 || runs.Load() != 4 {
		t.Errorf("after: %d %s, runs %d", a.Status, a.Raw, runs.Load())
	}
}

func TestGzipBombRefusedWithBoundedMemory(t *testing.T) {
	const limit = 1 << 20
	svc := newLimitedService(t, limit)
	// 256 MiB of zeros: one compressed MiB repeated as gzip members (a
	// gzip reader inflates them back to back), about 256 KiB in all.
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	bomb := bytes.Repeat(one.Bytes(), 256)

	// send returns the status, how many bytes of the body were read and
	// how many the refusal allocated.
	send := func() (int, int64, uint64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		body := &countingReader{r: bytes.NewReader(bomb)}
		req := httptest.NewRequest(http.MethodPost, "/", body)
		req.ContentLength = int64(len(bomb))
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set(extension.SignatureHeader, strings.Repeat("0", 64))
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		return rec.Code, body.n, after.TotalAlloc - before.TotalAlloc
	}
	status, read, alloc := send()
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("bomb answered %d, want 413", status)
	}
	// Refused just past the limit, early in the second member: the rest is
	// never read, let alone inflated. 64 KiB is ample for the readers'
	// buffers.
	if most := int64(2*one.Len() + 64<<10); read > most {
		t.Errorf("refusing the bomb read %d of its %d bytes, want at most %d: what is past the limit is inflated too", read, len(bomb), most)
	}
	if alloc > 8*limit {
		t.Errorf("refusing the bomb allocated %d bytes; the limit is %d", alloc, limit)
	}
	// One gzip member of 8 MiB is refused the same way.
	var single bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&single, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 8<<20))
	_ = zw.Close()
	bomb = single.Bytes()
	if status, _, alloc := send(); status != http.StatusRequestEntityTooLarge || alloc > 8*limit {
		t.Errorf("single-member bomb: %d, %d bytes allocated", status, alloc)
	}
	// Without Content-Encoding the gzip magic number is enough.
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bomb))
	req.Header.Set(extension.SignatureHeader, strings.Repeat("0", 64))
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("unlabelled bomb answered %d", rec.Code)
	}
}

// newLimitedService is an extension whose service takes bodies of at most
// limit bytes, compressed or inflated.
func newLimitedService(t *testing.T, limit int64) *service.Service {
	t.Helper()
	svc, err := service.New("ext-test", testSecret, extension.Serve(), service.WithMaxBodyBytes(limit), service.WithLogOutput(io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestBodyLimits(t *testing.T) {
	svc := newLimitedService(t, 1024)
	c := newCloud(t, svc)
	big, _ := json.Marshal(map[string]any{"heartbeat": map[string]any{}, "pad": strings.Repeat("x", 2048)})
	if a := c.post(big); a.Status != 413 {
		t.Errorf("oversized: %d", a.Status)
	}
	// The limit holds for the inflated bytes too, however small the
	// compressed body.
	if a := c.post(big, gzipped()); a.Status != 413 {
		t.Errorf("compressed, inflating past the limit: %d %s", a.Status, a.Raw)
	}
	small, _ := json.Marshal(map[string]any{"heartbeat": map[string]any{}, "pad": strings.Repeat("x", 900)})
	if a := c.post(small, gzipped()); a.Status != 200 {
		t.Errorf("compressed, within the limit: %d %s", a.Status, a.Raw)
	}
	if a := c.post([]byte(`{"heartbeat":{}}`), func(o *sendOpts) { o.header = map[string]string{"Content-Encoding": "br"} }); a.Status != 415 {
		t.Errorf("brotli: %d", a.Status)
	}
	if a := c.post([]byte("\x1f\x8bnot gzip at all")); a.Status != 400 {
		t.Errorf("corrupt gzip: %d", a.Status)
	}
}

func TestSelectAndBinding(t *testing.T) {
	for _, p := range []string{"", "service", " Service "} {
		opt, err := extension.Select(p)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := service.New("plain", "s", opt)
		if err != nil || extension.Of(svc) != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	opt, err := extension.Select("extension", extension.WithExtensionName("ext-registered"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New("svc", "s", opt)
	if err != nil || extension.Of(svc) == nil || extension.Of(svc).Name() != "ext-registered" {
		t.Fatalf("extension: %v", err)
	}
	if _, err := extension.Select("grpc"); err == nil {
		t.Error("unknown protocol accepted")
	}
	// The option makes a protocol per service: it may serve another.
	again, err := service.New("again", "s", opt)
	if err != nil || extension.Of(again) == nil || extension.Of(again) == extension.Of(svc) {
		t.Errorf("second service: %v", err)
	}
	if _, err := service.New("x", "s", extension.Serve(extension.WithRequestAction("__lcsvc_x"))); err == nil {
		t.Error("internal request action accepted")
	}
}

func TestStartupRefusesCollidingCommand(t *testing.T) {
	svc, logs := newService(t, nil)
	h := func(context.Context, *service.Request) service.Response { return service.OK(nil) }
	svc.OnRequest(h)
	svc.AddCommand(service.Command{Name: "request", Handler: h})
	svc.OnTick(service.OncePer24h, h)
	if err := svc.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "name of the request action") {
		t.Errorf("start: %v", err)
	}
	svc2, logs2 := newService(t, nil)
	svc2.OnTick(service.OncePer24h, h)
	svc2.PublishResource("r", "lookup", []byte("{}"))
	if err := svc2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs2.String(), "once_per_24h") || !strings.Contains(logs2.String(), "get_resource") {
		t.Errorf("no warning about event types without counterpart: %s", logs2.String())
	}
	_ = logs
}

func TestHandleActionAndContinue(t *testing.T) {
	svc, _ := newService(t, nil)
	x := extension.Of(svc)
	var level int
	var late context.Context
	x.HandleAction("__lcsvc_probe", func(ctx context.Context, r *service.Request) service.Response {
		level = extension.Level(ctx)
		late = ctx
		if r.Action != "__lcsvc_probe" || r.EventType != service.RequestEvent {
			t.Errorf("request %+v", r)
		}
		err := extension.Continue(ctx, extension.Continuation{Delay: 1500 * time.Millisecond, Action: "__lcsvc_probe", State: map[string]int{"n": 1}})
		if (err != nil) != (level >= extension.MaxContinuationLevel) || (err != nil && !errors.Is(err, extension.ErrContinuationLimit)) {
			t.Errorf("Continue at level %d: %v", level, err)
		}
		if err := extension.Continue(ctx, extension.Continuation{Delay: 301 * time.Second, Action: "a"}); err == nil {
			t.Error("delay over 300 s accepted")
		}
		if err := extension.Continue(ctx, extension.Continuation{Action: "a", State: []int{1}}); err == nil {
			t.Error("non-object state accepted")
		}
		return service.OK(nil)
	})
	mustPanic(t, func() {
		x.HandleAction("probe", func(context.Context, *service.Request) service.Response { return service.OK(nil) })
	})
	mustPanic(t, func() {
		x.HandleAction(extension.DetectionAction, func(context.Context, *service.Request) service.Response { return service.OK(nil) })
	})
	c := newCloud(t, svc)
	a := c.request("__lcsvc_probe", map[string]any{})
	if a.Status != 200 || len(a.Continuations) != 1 || a.Continuations[0].InDelaySec != 2 || a.Continuations[0].Action != "__lcsvc_probe" || string(a.Continuations[0].State) != `{"n":1}` {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	if level != 0 {
		t.Errorf("level %d", level)
	}
	if err := extension.Continue(late, extension.Continuation{Action: "a"}); !errors.Is(err, extension.ErrNoMessage) {
		t.Errorf("after the answer: %v", err)
	}
	if err := extension.Continue(context.Background(), extension.Continuation{Action: "a"}); !errors.Is(err, extension.ErrNoMessage) {
		t.Errorf("no message: %v", err)
	}
	// The 10th level of a chain may not continue.
	a = c.send(map[string]any{"idempotency_key": "parent:10", "request": map[string]any{"org": org(), "action": "__lcsvc_probe", "data": map[string]any{}}})
	if level != 10 || len(a.Continuations) != 0 {
		t.Errorf("level %d, continuations %s", level, a.Raw)
	}
	a = c.send(map[string]any{"idempotency_key": "parent:9", "request": map[string]any{"org": org(), "action": "__lcsvc_probe", "data": map[string]any{}}})
	if level != 9 || len(a.Continuations) != 1 {
		t.Errorf("level %d, continuations %s", level, a.Raw)
	}
}

func TestContinuationsPerResponseBounded(t *testing.T) {
	svc, _ := newService(t, nil)
	var refused int
	svc.OnRequest(func(ctx context.Context, r *service.Request) service.Response {
		for range 120 {
			if errors.Is(extension.Continue(ctx, extension.Continuation{Action: "x"}), extension.ErrContinuationLimit) {
				refused++
			}
		}
		return service.OK(nil)
	})
	a := newCloud(t, svc).request("request", map[string]any{})
	if len(a.Continuations) != extension.MaxContinuations || refused != 20 {
		t.Errorf("%d continuations, %d refused", len(a.Continuations), refused)
	}
}

func mustPanic(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	fn()
}

// countingIdempotency is an IdempotencyStore that counts its claims.
type countingIdempotency struct {
	extension.IdempotencyStore
	begins atomic.Int32
}

func (c *countingIdempotency) Begin(ctx context.Context, key string) (*extension.Answer, error) {
	c.begins.Add(1)
	return c.IdempotencyStore.Begin(ctx, key)
}

func TestUseIdempotencyStoreReplacesOnlyTheDefault(t *testing.T) {
	memory := func() *countingIdempotency {
		return &countingIdempotency{IdempotencyStore: extension.NewMemoryIdempotency(extension.MemoryIdempotencyOptions{})}
	}
	handed := memory()
	svc, _ := newService(t, nil)
	svc.OnRequest(func(context.Context, *service.Request) service.Response { return service.OK(nil) })
	extension.Of(svc).UseIdempotencyStore(handed)
	newCloud(t, svc).requestKeyed("k-1", "request", map[string]any{})
	if handed.begins.Load() != 1 {
		t.Errorf("the store handed over saw %d claims, want 1: it replaces the default", handed.begins.Load())
	}

	configured, ignored := memory(), memory()
	svc2, _ := newService(t, nil, extension.WithIdempotencyStore(configured))
	svc2.OnRequest(func(context.Context, *service.Request) service.Response { return service.OK(nil) })
	extension.Of(svc2).UseIdempotencyStore(ignored)
	newCloud(t, svc2).requestKeyed("k-1", "request", map[string]any{})
	if configured.begins.Load() != 1 || ignored.begins.Load() != 0 {
		t.Errorf("claims: configured store %d, handed-over store %d; want the configured one to stay (1, 0)", configured.begins.Load(), ignored.begins.Load())
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
