package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
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
// the status. Its client gives up after 10 s, a guard against hanging, far
// beyond what answering takes.
func signedPost(t *testing.T, addr string) int {
	t.Helper()
	body := mustJSON(t, envelopeFor(OrgInstall, nil))
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("signed request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// closedUnanswered reads c until the server closes it, and reports an
// error if it answered something first or did not close it within
// within (a guard against hanging).
func closedUnanswered(c net.Conn, within time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	var ne net.Error
	switch {
	case n > 0:
		return fmt.Errorf("answered %q before closing", buf[:n])
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("still open after %v", within)
	}
	return nil // closed: EOF, or reset if it had unread bytes
}

// Idle keep-alive connections fill the slots; a newcomer at the cap
// closes one to make room. Without the eviction of idle connections
// (victimLocked's connIdle case), the first signed request waits in the
// listener's queue for a slot until an idle connection times out
// (idleTimeout, 60 s), and its client gives up: "signed request: ...
// Client.Timeout exceeded".
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
		if code := signedPost(t, addr); code != 200 {
			t.Fatalf("request %d at the cap: status %d", i, code)
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

// Slow senders take the connection slots; each newcomer closes the oldest
// to make room, so the platform's requests are served without waiting for
// a slow sender to time out (the body and header timeouts, 5 s). Without
// the eviction of connections whose request is not authenticated
// (victimLocked's connNew and connActive case), the first slow senders are
// not closed but answered 408 once their body times out: "slow sender 0:
// answered "HTTP/1.1 408 Request Timeout..." before closing".
func TestConnCapMakesRoomFromSlowSenders(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxConnections(4), WithDrainDelay(0))
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	addr := serveOn(t, svc)
	var slow []net.Conn
	for range 4 {
		slow = append(slow, rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: 100000\r\n\r\n{\"pad\":\""))
	}
	for range 4 { // half a request: no headers yet
		rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\n")
	}
	// The last four took the places of the first four: once those are
	// closed, slow senders hold every slot.
	for i, c := range slow {
		if err := closedUnanswered(c, 10*time.Second); err != nil {
			t.Fatalf("slow sender %d: %v", i, err)
		}
	}
	if n := svc.Stats().EvictedConn; n != 4 {
		t.Fatalf("%d connections evicted for 4 newcomers at the cap", n)
	}
	for i := range 3 {
		if code := signedPost(t, addr); code != 200 {
			t.Fatalf("request %d at the cap: status %d", i, code)
		}
	}
	// The first found every slot taken by a slow sender and closed one;
	// the next may find the slot the previous one freed.
	if n := svc.Stats().EvictedConn; n < 5 {
		t.Errorf("%d connections evicted; the signed requests closed no slow sender", n)
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
			code := signedPost(t, addr)
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

// A webhook whose body arrives just as its connection is evicted to make
// room is not handled: its answer could not be delivered. Its client sees
// the connection closed with nothing answered, and the platform delivers
// it again. Without the check of the claim when a webhook is
// authenticated (trackedConn.authenticated), the handler runs: "the
// handler ran for a webhook read from an evicted connection".
func TestConnCapEvictionRacingAWebhook(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxConnections(1), WithDrainDelay(0))
	var ran atomic.Int32
	svc.OnOrgInstall(func(context.Context, *Request) Response { ran.Add(1); return OK(nil) })
	ln := listenHooked(t)
	accepted := ln.holdConns()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	// The webhook's headers and the first half of its body; the server
	// reads them, then waits for the rest.
	wire := signedRequest(t, OrgInstall)
	half := len(wire) - 10
	c := rawConn(t, ln.Addr().String(), wire[:half])
	held := <-accepted
	<-held.reads
	<-held.reads // reading the body
	held.hold.Store(true)
	if _, err := io.WriteString(c, wire[half:]); err != nil {
		t.Fatal(err)
	}
	// A newcomer at the cap evicts it; the rest of its body, read as it
	// was closed, completes the webhook.
	other := rawConn(t, ln.Addr().String(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := closedUnanswered(c, 30*time.Second); err != nil {
		t.Errorf("evicted connection: %v", err)
	}
	select {
	case <-held.late:
	case <-time.After(30 * time.Second): // a guard against hanging
		t.Fatal("the server never finished with the webhook it read as it evicted its connection")
	}
	if code, err := readStatus(t, other, 30*time.Second); err != nil || code != 200 {
		t.Errorf("newcomer: %d %v", code, err)
	}
	if n := svc.Stats().EvictedConn; n != 1 {
		t.Errorf("%d connections evicted", n)
	}
	if ran.Load() != 0 {
		t.Error("the handler ran for a webhook read from an evicted connection")
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// A body that stalls is cut off after the stall limit; one that trickles
// in, never pausing long enough to stall, after the grace period, by the
// minimum rate. The trickled body would arrive in full after 5 s at least
// (100 bytes, one per 50 ms or slower) and be answered 401; without the
// rate (pacer.before's rate deadline), that is what happens: "trickled
// body: 401 <nil>; want 408". The reads give up after 30 s, a guard
// against hanging.
func TestSlowBodyCutOff(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	svc.pace.grace, svc.pace.stall = 300*time.Millisecond, 300*time.Millisecond
	addr := serveOn(t, svc)

	stalled := rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: 1000\r\n\r\n{\"a\":")
	if code, err := readStatus(t, stalled, 30*time.Second); err != nil || code != http.StatusRequestTimeout {
		t.Errorf("stalled body: %d %v; want 408", code, err)
	}

	trickle := rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: 100\r\n\r\n")
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
	if code, err := readStatus(t, trickle, 30*time.Second); err != nil || code != http.StatusRequestTimeout {
		t.Errorf("trickled body: %d %v; want 408", code, err)
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
	c := rawConn(t, addr, fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: %d\r\n\r\n", 64<<20))
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
