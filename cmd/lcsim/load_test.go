package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/service"
)

func TestLoadAgainstThePackagesExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	bin := packagesBinary(t)
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := startChild([]string{bin}, []string{"PORT=" + port, "LC_SHARED_SECRET=load-secret", "LC_API_URL=http://127.0.0.1:1", "LC_DRAIN_DELAY=0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.stop(5 * time.Second)
	url := "http://127.0.0.1:" + port + "/"
	if err := svc.waitReady(t.Context(), url+"healthz", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"load", "-name", "package-survey", "-secret", "load-secret", "-c", "4", "-d", "1500ms",
		"-mix", "detection=3,health=1", "-server-pid", itoa(svc.pid()), url}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{" sent ", "/s ", "webhooks   ", "detection ", "health ", "latency    p50 ", "p99.9 ", "server CPU ", "errors     none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLoadCountsErrorsByKindAndExitsNonZero(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.EqualFold(r.Header.Get("lc-svc-sig"), service.Sign([]byte("s"), body)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			io.WriteString(w, `{"success":false,"retry":true,"data":{}}`)
		case 2:
			time.Sleep(300 * time.Millisecond) // longer than -timeout
			io.WriteString(w, `{"success":true,"data":{}}`)
		default:
			io.WriteString(w, `{"success":true,"data":{}}`)
		}
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"load", "-secret", "s", "-mix", "health", "-c", "4", "-d", "700ms", "-timeout", "100ms", srv.URL}, nil, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"HTTP 503 ", "success:false ", "timeout "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "more than -max-errors") {
		t.Errorf("stderr does not say why it failed: %q", errOut.String())
	}
}

func TestLoadAtATargetRate(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, `{"success":true,"data":{}}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	code := run(t.Context(), []string{"load", "-secret", "s", "-mix", "health", "-rate", "50", "-d", "1s", srv.URL}, nil, &out, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	// A rate is a ceiling: a loaded machine may send fewer, never many more.
	if got := n.Load(); got < 1 || got > 60 {
		t.Errorf("%d webhooks at 50/s for 1s", got)
	}
}

func TestLoadRefusesBadCommandLines(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"http://x/"}, "no secret"},
		{[]string{"-secret", "s", "http://x/"}, "pass -name"},
		{[]string{"-secret", "s", "-mix", "detection=x", "http://x/"}, "not a whole number"},
		{[]string{"-secret", "s", "-mix", "install=1", "http://x/"}, `unknown webhook kind "install"`},
		{[]string{"-secret", "s", "-mix", "health=0", "http://x/"}, "sends nothing"},
		{[]string{"-secret", "s", "-mix", "health", "-c", "0", "http://x/"}, "-c 0"},
		{[]string{"-secret", "s", "-mix", "request", "-request-data", "[1]", "http://x/"}, "-request-data must be a JSON object"},
	} {
		var errOut bytes.Buffer
		if code := run(context.Background(), append([]string{"load"}, c.args...), nil, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("load %v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
}

func TestLoadMixRepeatsItsProportions(t *testing.T) {
	var m loadMix
	if err := m.Set("detection=3,health=1"); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for i := range uint64(400) {
		count[m.pick(i)]++
	}
	if count["detection"] != 300 || count["health"] != 100 {
		t.Errorf("counts %v, want 300 detections and 100 health", count)
	}
	if m.String() != "detection=3,health=1" {
		t.Errorf("String() = %q", m.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
