package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveLocal runs svc.Serve on a loopback listener until the test ends and
// returns its base URL.
func serveLocal(t *testing.T, svc *Service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	// Serve runs the startup hooks before it serves: wait until it does.
	// The listener is open already, so this request waits in its queue
	// until Serve takes it.
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("server not up: %v", err)
	}
	resp.Body.Close()
	return base
}

func postTo(t *testing.T, base string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValues reads the text exposition format: series (name and
// labels, as printed) to value.
func metricValues(t *testing.T, text string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

func TestMetricsServedAfterWebhooks(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	svc.OnDetection(func(context.Context, *Request) Response { return Failf("no such rule") })
	svc.OnNewSensor(func(context.Context, *Request) Response { return Retry(errors.New("busy")) })
	base := serveLocal(t, svc)

	send := func(etype EventType) int {
		raw := mustJSON(t, envelopeFor(etype, nil))
		return postTo(t, base, raw, Sign([]byte(testSecret), raw))
	}
	send(OrgInstall)
	send(OrgInstall)
	send(Detection)
	send(NewSensor)
	send(LogEvent) // no handler
	if code := postTo(t, base, mustJSON(t, envelopeFor(OrgInstall, nil)), "bad"); code != http.StatusUnauthorized {
		t.Fatalf("bad signature answered %d", code)
	}

	code, text := get(t, base+MetricsPath)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, text)
	}
	got := metricValues(t, text)
	for series, want := range map[string]float64{
		`lcservice_webhooks_total{etype="org_install",outcome="ok"}`:            2,
		`lcservice_webhooks_total{etype="detection",outcome="failed"}`:          1,
		`lcservice_webhooks_total{etype="new_sensor",outcome="retry"}`:          1,
		`lcservice_webhooks_total{etype="log_event",outcome="not_implemented"}`: 1,
		`lcservice_webhook_duration_seconds_count{etype="org_install"}`:         2,
		`lcservice_signature_refused_total`:                                     1,
		`lcservice_limit_refused_total{reason="too_large"}`:                     0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	for _, family := range []string{"lcservice_open_connections", "lcservice_webhooks_in_progress", "go_goroutines"} {
		if _, ok := got[family]; !ok {
			t.Errorf("family %s missing", family)
		}
	}
	// Health is not counted: the cloud polls it.
	if strings.Contains(text, `etype="health"`) {
		t.Error("health counted in metrics")
	}
}

func TestWithoutMetrics(t *testing.T) {
	svc, _, _ := newTestService(t, WithoutMetrics())
	base := serveLocal(t, svc)
	code, body := get(t, base+MetricsPath)
	if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /metrics with WithoutMetrics: %d", code)
	}
	if strings.Contains(body, "lcservice_") {
		t.Fatalf("metrics served: %s", body)
	}
	// Still available to mount elsewhere.
	rec := httptestGet(svc.MetricsHandler())
	if !strings.Contains(rec, "lcservice_signature_refused_total") {
		t.Fatalf("MetricsHandler: %s", rec)
	}
}

func httptestGet(h http.Handler) string {
	srv := &http.Server{Handler: h}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestPprofOnItsOwnListener(t *testing.T) {
	svc, _, _ := newTestService(t, WithPprof("127.0.0.1:0"))
	base := serveLocal(t, svc)
	addr := svc.PprofAddr()
	if addr == "" {
		t.Fatal("no pprof address while serving")
	}
	code, body := get(t, "http://"+addr+"/debug/pprof/")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %d %.200s", code, body)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code == http.StatusOK {
		t.Fatal("pprof served on the webhook port")
	}
}

func TestPprofStopsWithServe(t *testing.T) {
	svc, _, _ := newTestService(t, WithPprof("127.0.0.1:0"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	// Serve starts pprof before it serves: once it answers, pprof is up.
	get(t, "http://"+ln.Addr().String()+"/healthz")
	addr := svc.PprofAddr()
	if addr == "" {
		t.Fatal("pprof not started by the time Serve answered")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if svc.PprofAddr() != "" {
		t.Error("pprof address still set after Serve returned")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("pprof listener still open after Serve returned")
	}
}

func TestNoPprofByDefault(t *testing.T) {
	svc, _, _ := newTestService(t)
	base := serveLocal(t, svc)
	if svc.PprofAddr() != "" {
		t.Fatal("pprof started without WithPprof")
	}
	if code, _ := get(t, base+"/debug/pprof/"); code == http.StatusOK {
		t.Fatal("pprof served on the webhook port")
	}
}

func TestFailedWebhookLoggedOnce(t *testing.T) {
	svc, out, errOut := newTestService(t)
	svc.OnDetection(func(context.Context, *Request) Response { return Failf("no such rule") })
	env := envelopeFor(Detection, nil)
	res := postSigned(t, svc, env)
	if res.Success {
		t.Fatal("handler failure answered success")
	}
	logs := out.String() + errOut.String()
	if n := strings.Count(logs, "webhook failed"); n != 1 {
		t.Fatalf("%d failure lines, want 1:\n%s", n, logs)
	}
	var line string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "webhook failed") {
			line = l
		}
	}
	for _, want := range []string{`"reason":"no such rule"`, `"etype":"detection"`, `"oid":"` + env["oid"].(string) + `"`, `"mid":"` + env["mid"].(string) + `"`, `"outcome":"failed"`} {
		if !strings.Contains(line, want) {
			t.Errorf("failure line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(logs, env["jwt"].(string)) {
		t.Errorf("JWT logged: %s", logs)
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		err  bool
	}{
		{"debug", slog.LevelDebug, false},
		{"DEBUG", slog.LevelDebug, false},
		{"", slog.LevelInfo, false},
		{"Info", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, false},
		{"WARNING", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{" Error ", slog.LevelError, false},
		{"critical", LevelCritical, false},
		{"verbose", slog.LevelInfo, true},
		{"2", slog.LevelInfo, true},
	} {
		got, err := ParseLogLevel(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestWithLogLevel(t *testing.T) {
	svc, out, _ := newTestService(t, WithLogLevel(slog.LevelWarn))
	svc.Logger().Info("quiet")
	svc.Logger().Warn("loud")
	if s := out.String(); strings.Contains(s, "quiet") || !strings.Contains(s, "loud") {
		t.Fatalf("level warn: %s", s)
	}
	svc, out, _ = newTestService(t, WithLogLevel(slog.LevelDebug))
	svc.Logger().Debug("detail")
	if !strings.Contains(out.String(), "detail") {
		t.Fatalf("level debug: %s", out.String())
	}
}

func TestMalformedEnvelopeAndLimitRefusalLogged(t *testing.T) {
	svc, out, _ := newTestService(t, WithMaxBodyBytes(1<<10))
	raw := []byte(`{"version":1,"etype":5}`)
	if res := postRaw(t, svc, raw, Sign([]byte(testSecret), raw)); res.Status != http.StatusBadRequest {
		t.Fatalf("malformed envelope answered %d", res.Status)
	}
	if n := strings.Count(out.String(), `"message":"webhook failed"`); n != 1 || !strings.Contains(out.String(), `"status":400`) {
		t.Fatalf("malformed envelope logged %d times:\n%s", n, out.String())
	}
	big := bytes.Repeat([]byte("x"), 2<<10)
	if res := postRaw(t, svc, big, "sig"); res.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body answered %d", res.Status)
	}
	if !strings.Contains(out.String(), `"status":413`) {
		t.Fatalf("limit refusal not logged:\n%s", out.String())
	}
}
