package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeGracefulShutdownCompletesInFlight(t *testing.T) {
	svc, _, _ := newTestService(t)
	entered, release := make(chan struct{}), make(chan struct{})
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		close(entered)
		<-release
		return OK(map[string]string{"finished": "yes"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	body := mustJSON(t, envelopeFor(OrgInstall, nil))
	type result struct {
		code int
		body map[string]any
		err  error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		got <- result{resp.StatusCode, m, err}
	}()
	<-entered
	cancel() // as SIGTERM would
	select {
	case err := <-served:
		t.Fatalf("Serve returned while a request was in flight: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil || r.code != 200 || r.body["success"] != true {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestListenAndServeUsesPORT(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	t.Setenv("PORT", port)
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.ListenAndServe(ctx, "") }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never came up on PORT %s: %v", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v", err)
	}
	if err := svc.ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("bad address accepted")
	}
}

// TestShutdownLosesNoRequest keeps 16 clients posting through a shutdown:
// every request the server received gets a whole answer. A client may
// only fail to connect, once the listener is closed.
func TestShutdownLosesNoRequest(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(300*time.Millisecond), WithShutdownTimeout(5*time.Second))
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		time.Sleep(time.Millisecond)
		return OK(nil)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	type tally struct{ ok, closing, refused int }
	results := make(chan tally, 16)
	failures := make(chan error, 16)
	for range 16 {
		go func() {
			var n tally
			defer func() { results <- n }()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for {
				body := mustJSON(t, envelopeFor(OrgInstall, nil))
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
				resp, err := client.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						n.refused++
						return // the listener is closed: never sent
					}
					failures <- err
					return
				}
				var out struct{ Success bool }
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !out.Success {
					failures <- fmt.Errorf("status %d, success %v, %v", resp.StatusCode, out.Success, err)
					return
				}
				n.ok++
				if resp.Close {
					n.closing++
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	// While draining, readiness says so and requests are still served.
	time.Sleep(50 * time.Millisecond)
	resp, err := http.Get(url + "readyz")
	if err != nil {
		t.Fatalf("readyz while draining: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d, want 503", resp.StatusCode)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	var total tally
	for range 16 {
		n := <-results
		total.ok += n.ok
		total.closing += n.closing
		total.refused += n.refused
	}
	close(failures)
	for err := range failures {
		t.Errorf("a request sent before the listener closed failed: %v", err)
	}
	t.Logf("%d requests answered, %d of them closing their connection; %d clients found the listener closed", total.ok, total.closing, total.refused)
	if total.ok == 0 || total.closing == 0 {
		t.Errorf("answered %d, closing %d: want both", total.ok, total.closing)
	}
}

func TestShutdownAnswersStuckWebhooksRetry(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0), WithShutdownTimeout(time.Second))
	entered := make(chan struct{})
	svc.OnOrgInstall(func(ctx context.Context, _ *Request) Response {
		close(entered)
		<-ctx.Done()
		return Fail(ctx.Err())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		body := mustJSON(t, envelopeFor(OrgInstall, nil))
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	start := time.Now()
	cancel()
	if answer := <-got; !strings.Contains(answer, `"retry":true`) {
		t.Errorf("stuck webhook answered %s; want retry", answer)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v with a 1 s timeout", took)
	}
}

// A connection that never sends a request does not hold a shutdown for
// long.
func TestShutdownClosesSilentConnections(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for svc.Stats().OpenConns == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v with a silent connection open", took)
	}
}
