package service

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveOn runs svc on a loopback listener until the test ends and returns
// its address.
func serveOn(t *testing.T, svc *Service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// rawConn opens a connection and writes s on it.
func rawConn(t *testing.T, addr, s string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
	return c
}

// readStatus reads one response's status code from c.
func readStatus(t *testing.T, c net.Conn, within time.Duration) (int, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// signedPost posts a signed org_install on a new connection and returns
// the status and how long the answer took.
func signedPost(t *testing.T, addr string) (int, time.Duration) {
	t.Helper()
	body := mustJSON(t, envelopeFor(OrgInstall, nil))
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("signed request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func TestConnCapMakesRoomFromIdleConnections(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxConnections(4), WithDrainDelay(0))
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	addr := serveOn(t, svc)
	var idle []net.Conn
	for range 4 {
		c := rawConn(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, err := readStatus(t, c, 5*time.Second); err != nil || code != 200 {
			t.Fatalf("healthz: %d %v", code, err)
		}
		idle = append(idle, c)
	}
	for i := range 3 {
		if code, took := signedPost(t, addr); code != 200 || took > 2*time.Second {
			t.Fatalf("request %d at the cap: status %d after %v", i, code, took)
		}
	}
	if n := svc.Stats().EvictedConn; n < 1 {
		t.Errorf("%d connections evicted", n)
	}
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed == 0 {
		t.Error("no idle connection was closed to make room")
	}
}

func TestConnCapMakesRoomFromSlowSenders(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxConnections(4), WithDrainDelay(0))
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	addr := serveOn(t, svc)
	for range 4 {
		rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"pad\":\"")
	}
	for range 4 { // half a request: no headers yet
		rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\n")
	}
	time.Sleep(50 * time.Millisecond)
	for i := range 3 {
		if code, took := signedPost(t, addr); code != 200 || took > 2*time.Second {
			t.Fatalf("request %d at the cap: status %d after %v", i, code, took)
		}
	}
}

func TestConnCapSparesAuthenticatedWebhooks(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxConnections(2), WithDrainDelay(0))
	entered, release := make(chan struct{}, 2), make(chan struct{})
	svc.OnOrgInstall(func(context.Context, *Request) Response {
		entered <- struct{}{}
		<-release
		return OK(nil)
	})
	addr := serveOn(t, svc)
	results := make(chan int, 2)
	for range 2 {
		go func() {
			code, _ := signedPost(t, addr)
			results <- code
		}()
	}
	<-entered
	<-entered
	third := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/healthz")
		if err != nil {
			third <- 0
			return
		}
		resp.Body.Close()
		third <- resp.StatusCode
	}()
	select {
	case code := <-third:
		close(release)
		t.Fatalf("a third connection was served (%d) while both slots served authenticated webhooks", code)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	for range 2 {
		if code := <-results; code != 200 {
			t.Errorf("authenticated webhook: %d", code)
		}
	}
	if code := <-third; code != 200 {
		t.Errorf("third connection: %d", code)
	}
	if n := svc.Stats().EvictedConn; n != 0 {
		t.Errorf("%d connections evicted", n)
	}
}

func TestSlowBodyCutOff(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	svc.pace.grace, svc.pace.stall = 300*time.Millisecond, 300*time.Millisecond
	addr := serveOn(t, svc)

	stalled := rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
	if code, err := readStatus(t, stalled, 5*time.Second); err != nil || code != http.StatusRequestTimeout {
		t.Errorf("stalled body: %d %v; want 408", code, err)
	}

	trickle := rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := trickle.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	if code, err := readStatus(t, trickle, 5*time.Second); err != nil || code != http.StatusRequestTimeout {
		t.Errorf("trickled body: %d %v; want 408", code, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("trickled body cut after %v", took)
	}
	if n := svc.Stats().SlowBodies; n != 2 {
		t.Errorf("%d slow bodies counted", n)
	}
	if held := svc.Stats().BodyBytes; held != 0 {
		t.Errorf("budget still holds %d bytes", held)
	}
}

func TestOversizeAnsweredBeforeTheBody(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	addr := serveOn(t, svc)
	c := rawConn(t, addr, fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 64<<20))
	if code, err := readStatus(t, c, 5*time.Second); err != nil || code != http.StatusRequestEntityTooLarge {
		t.Errorf("64 MiB Content-Length, no body sent: %d %v; want 413", code, err)
	}
}

func TestLongHandlerKeepsItsContext(t *testing.T) {
	// The body's read deadline must not outlive the body: a passed read
	// deadline would make the server cancel the handler's context.
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	svc.pace.grace, svc.pace.stall = 100*time.Millisecond, 100*time.Millisecond
	svc.OnOrgInstall(func(ctx context.Context, _ *Request) Response {
		select {
		case <-ctx.Done():
			return Failf("context ended: %v", ctx.Err())
		case <-time.After(500 * time.Millisecond):
			return OK(nil)
		}
	})
	addr := serveOn(t, svc)
	body := mustJSON(t, envelopeFor(OrgInstall, nil))
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"success":true`) {
		t.Errorf("long handler answered %s", b)
	}
}
