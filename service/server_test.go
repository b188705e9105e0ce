package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	// ListenAndServe runs the startup hooks once it listens.
	listening := make(chan struct{})
	svc.OnStartup(func(context.Context) error { close(listening); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.ListenAndServe(ctx, "") }()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("ListenAndServe on PORT %s = %v", port, err)
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		t.Fatalf("not serving on PORT %s: %v", port, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v", err)
	}
	if err := svc.ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("bad address accepted")
	}
}

// hookListener is a loopback listener that lets a test act at points of
// Serve's life it cannot otherwise observe: onAccept sees each connection
// Serve accepts, and returns the one to serve (it may wrap it); onStop
// runs once when Serve, its drain delay over, stops the listener
// (connLimiter.stop sets its deadline): Serve is draining and the
// listener is still open.
type hookListener struct {
	*net.TCPListener
	onAccept func(net.Conn) net.Conn
	onStop   func()
	stopOnce sync.Once
	stopped  atomic.Bool
}

func listenHooked(t *testing.T) *hookListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &hookListener{TCPListener: ln.(*net.TCPListener)}
}

func (l *hookListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err == nil && l.onAccept != nil {
		return l.onAccept(c), nil
	}
	return c, err
}

func (l *hookListener) SetDeadline(d time.Time) error {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		if l.onStop != nil {
			l.onStop()
		}
	})
	return l.TCPListener.SetDeadline(d)
}

// postBody posts a signed webhook body with client.
func postBody(client *http.Client, url string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	return client.Do(req)
}

// TestShutdownLosesNoRequest keeps 16 clients posting through a shutdown.
// The promise: every webhook whose handler started is answered in full.
// A client may fail at the transport level only with a request the
// server never started: one written on a keep-alive connection just as
// the server closed it as idle, or still in the listener's queue as the
// listener closed. The platform delivers such a webhook again (same mid),
// and so do the clients, until it is answered or the closed listener
// refuses them. Also: /readyz answers 503 while draining, requests are
// served as usual meanwhile, and once the listener is closed answers
// close their connection.
//
// Switching a defence off makes it fail: closing connections with
// handlers in flight (srv.Close right after lim.Close in Serve) gives
// "the webhook in flight as the listener closed: status 0, success false,
// Post ...: EOF"; no Connection: close once the listener is closed
// (Service.header) gives "the webhook in flight as the listener closed
// was answered on a connection kept open"; not marking the service
// draining gives "readyz while draining: 200, want 503". Before
// connections were claimed for closing (connClosing), a webhook read just
// as its idle connection was closed ran its handler with no way to answer:
// on a loaded machine this failed now and then with "mid-N: handled, then
// Post ...: EOF" (TestShutdownIdleCloseRacingARequest makes that race
// happen every time).
func TestShutdownLosesNoRequest(t *testing.T) {
	const clients = 16
	svc, _, _ := newTestService(t, WithDrainDelay(300*time.Millisecond))
	var mu sync.Mutex
	started := map[string]int{} // handler entries, by mid
	svc.OnOrgInstall(func(_ context.Context, r *Request) Response {
		mu.Lock()
		started[r.MessageID]++
		mu.Unlock()
		return OK(nil)
	})
	handled := func(mid string) bool {
		mu.Lock()
		defer mu.Unlock()
		return started[mid] > 0
	}
	// One webhook stays in flight until the server has closed an idle
	// connection, which it does only once its listener is closed.
	slowEntered, releaseSlow := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(releaseSlow) }) }
	defer release()
	svc.OnOrgUninstall(func(context.Context, *Request) Response {
		close(slowEntered)
		<-releaseSlow
		return OK(nil)
	})
	ln := listenHooked(t)
	url := "http://" + ln.Addr().String() + "/"
	// While draining, with the listener still open: readiness says so,
	// and the request is served as usual, on a connection kept open.
	var readyzErr error
	var readyzCode int
	var readyzClose bool
	ln.onStop = func() {
		client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		resp, err := client.Get(url + "readyz")
		if err != nil {
			readyzErr = err
			return
		}
		resp.Body.Close()
		readyzCode, readyzClose = resp.StatusCode, resp.Close
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	if code, _ := get(t, url+"readyz"); code != http.StatusOK {
		t.Fatalf("readyz while serving: %d", code)
	}
	idle := rawConn(t, ln.Addr().String(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	idleR := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(idleR, nil); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	type outcome struct {
		code         int
		success, cls bool
		err          error
	}
	slow := make(chan outcome, 1)
	go func() {
		body, _ := json.Marshal(envelopeFor(OrgUninstall, nil))
		resp, err := postBody(&http.Client{Transport: &http.Transport{}, Timeout: time.Minute}, url, body) // timeout: a guard against hanging
		if err != nil {
			slow <- outcome{err: err}
			return
		}
		defer resp.Body.Close()
		var out struct{ Success bool }
		err = json.NewDecoder(resp.Body).Decode(&out)
		slow <- outcome{resp.StatusCode, out.Success, resp.Close, err}
	}()
	select {
	case <-slowEntered:
	case r := <-slow:
		t.Fatalf("the webhook to keep in flight: status %d, %v", r.code, r.err)
	}

	type tally struct {
		ok, closing, redelivered, refused int
		answered                          []string
	}
	results := make(chan tally, clients)
	failures := make(chan error, clients)
	var answers atomic.Int64
	warm := make(chan struct{})
	for range clients {
		go func() {
			var n tally
			defer func() { results <- n }()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
			defer client.CloseIdleConnections()
			for {
				env := envelopeFor(OrgInstall, nil)
				mid := env["mid"].(string)
				body, _ := json.Marshal(env)
				for attempt := 1; ; attempt++ {
					resp, err := postBody(client, url, body)
					if err == nil {
						var out struct{ Success bool }
						err = json.NewDecoder(resp.Body).Decode(&out)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || !out.Success {
							failures <- fmt.Errorf("%s: status %d, success %v, %v", mid, resp.StatusCode, out.Success, err)
							return
						}
						n.ok++
						n.answered = append(n.answered, mid)
						if resp.Close {
							n.closing++
						}
						if answers.Add(1) == 4*clients {
							close(warm)
						}
						break
					}
					var op *net.OpError
					switch {
					case errors.As(err, &op) && op.Op == "dial":
						n.refused++
						return // the listener is closed
					case handled(mid):
						failures <- fmt.Errorf("%s: handled, then %v", mid, err)
						return
					case attempt == 10:
						failures <- fmt.Errorf("%s: not handled in %d deliveries, the last: %v", mid, attempt, err)
						return
					}
					n.redelivered++ // never started: deliver it again, as the platform would
				}
			}
		}()
	}
	select {
	case <-warm:
	case err := <-failures:
		t.Fatalf("before the shutdown: %v", err)
	}
	cancel() // as SIGTERM would

	// The server closes an idle connection only once its listener is
	// closed; the webhook still in flight is answered after that.
	_ = idle.SetReadDeadline(time.Now().Add(DefaultShutdownTimeout))
	var ne net.Error
	if _, err := idleR.ReadByte(); err == nil {
		t.Error("an idle connection received data")
	} else if errors.As(err, &ne) && ne.Timeout() {
		t.Error("the idle connection was never closed")
	}
	release()
	if r := <-slow; r.err != nil || r.code != 200 || !r.success {
		t.Errorf("the webhook in flight as the listener closed: status %d, success %v, %v", r.code, r.success, r.err)
	} else if !r.cls {
		t.Error("the webhook in flight as the listener closed was answered on a connection kept open")
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	switch {
	case !ln.stopped.Load():
		t.Error("Serve never stopped its listener: readyz not checked while draining")
	case readyzErr != nil:
		t.Errorf("readyz while draining: %v", readyzErr)
	case readyzCode != http.StatusServiceUnavailable:
		t.Errorf("readyz while draining: %d, want 503", readyzCode)
	case readyzClose:
		t.Error("readyz while draining, the listener still open: answered with a closing connection")
	}

	var total tally
	answered := map[string]bool{}
	for range clients {
		n := <-results
		total.ok += n.ok
		total.closing += n.closing
		total.redelivered += n.redelivered
		total.refused += n.refused
		for _, mid := range n.answered {
			answered[mid] = true
		}
	}
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	mu.Lock()
	for mid, n := range started {
		if !answered[mid] {
			t.Errorf("%s: handled (%d times) but never answered", mid, n)
		}
	}
	mu.Unlock()
	t.Logf("%d webhooks answered, %d of them closing their connection; %d deliveries again of webhooks never started; %d clients found the listener closed",
		total.ok, total.closing, total.redelivered, total.refused)
}

// A webhook still running when little of the shutdown timeout is left
// has its context cancelled and, failing, is answered retry. The timeout
// is 10 s (Cloud Run's grace after SIGTERM), which keeps the last 2 s for
// that answer before Serve closes every connection (final in Serve):
// with a much shorter timeout the answer races that close. Without
// answering aborted handlers retry (the s.aborted check in run), this
// fails with "stuck webhook answered {...context canceled...}; want
// retry"; without cancelling them (abort in Serve), with "stuck webhook
// answered ... EOF".
func TestShutdownAnswersStuckWebhooksRetry(t *testing.T) {
	const timeout = 10 * time.Second
	final := min(2*time.Second, timeout/5) // as in Serve
	svc, _, _ := newTestService(t, WithDrainDelay(0), WithShutdownTimeout(timeout))
	entered := make(chan struct{})
	cancelled := make(chan time.Time, 1)
	svc.OnOrgInstall(func(ctx context.Context, _ *Request) Response {
		close(entered)
		<-ctx.Done()
		cancelled <- time.Now()
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
		body, _ := json.Marshal(envelopeFor(OrgInstall, nil))
		resp, err := postBody(http.DefaultClient, "http://"+ln.Addr().String()+"/", body)
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
	stoppedWithin(t, served, start, timeout)
	// In flight, it kept its context until little of the timeout was left.
	if at := <-cancelled; at.Sub(start) < timeout-2*final {
		t.Errorf("handler cancelled %v into the shutdown; want not before %v", at.Sub(start), timeout-2*final)
	}
}

// A connection that never sends a request does not hold a shutdown: it
// is closed once silent for 4×idleQuiet, before the shutdown timeout is
// nearly spent and webhooks in flight would be cancelled. The timeout,
// 5 s, puts that point (at 3 s) before the header timeout
// (readHeaderTimeout, 5 s) would close the connection anyway. Without
// closing silent connections (closeIdle's connNew case), this fails with
// "the silent connection held the shutdown until webhooks were
// cancelled" and "Serve = shutting down: context deadline exceeded".
func TestShutdownClosesSilentConnections(t *testing.T) {
	const timeout = 5 * time.Second
	svc, _, _ := newTestService(t, WithDrainDelay(0), WithShutdownTimeout(timeout))
	ln := listenHooked(t)
	accepted := make(chan string, 1)
	ln.onAccept = func(c net.Conn) net.Conn { accepted <- c.RemoteAddr().String(); return c }
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a := <-accepted; a != c.LocalAddr().String() {
		t.Fatalf("accepted %s, not the silent connection %s", a, c.LocalAddr())
	}
	start := time.Now()
	cancel()
	stoppedWithin(t, served, start, timeout)
	if svc.aborted.Load() {
		t.Error("the silent connection held the shutdown until webhooks were cancelled")
	}
}

// heldConn is a server-side connection whose next read, once hold is set,
// hands over what it read only after the connection has been closed: the
// server reads a request just as it closes the connection as idle, a race
// a loaded machine runs into. (Reads of one byte, net/http's watch for a
// client going away, are not held.) late is closed when the server
// writes to it once closed: it is done with that request. reads gets a
// token as each read (but those of one byte) starts.
type heldConn struct {
	net.Conn
	hold                atomic.Bool
	closed, late        chan struct{}
	reads               chan struct{}
	closeOnce, lateOnce sync.Once
}

// stoppedWithin fails t unless Serve, asked to stop at start, returned nil
// within its shutdown timeout and a generous slack: a bound, not a speed.
func stoppedWithin(t *testing.T, served <-chan error, start time.Time, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(timeout + 10*time.Second):
		t.Fatalf("Serve still running %v after it was asked to stop, with a %v shutdown timeout", time.Since(start), timeout)
	}
}

// holdConns makes every connection l accepts a heldConn, handed to the
// test on the channel it returns (room for two).
func (l *hookListener) holdConns() <-chan *heldConn {
	accepted := make(chan *heldConn, 2)
	l.onAccept = func(c net.Conn) net.Conn {
		hc := newHeldConn(c)
		accepted <- hc
		return hc
	}
	return accepted
}

func newHeldConn(c net.Conn) *heldConn {
	return &heldConn{Conn: c, closed: make(chan struct{}), late: make(chan struct{}), reads: make(chan struct{}, 100)}
}

func (c *heldConn) Read(p []byte) (int, error) {
	if len(p) > 1 {
		select {
		case c.reads <- struct{}{}:
		default:
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 && len(p) > 1 && c.hold.CompareAndSwap(true, false) {
		<-c.closed
	}
	return n, err
}

func (c *heldConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		c.lateOnce.Do(func() { close(c.late) })
	default:
	}
	return c.Conn.Write(p)
}

func (c *heldConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A webhook the server reads from a keep-alive connection just as it
// closes the connection as idle is not handled: its answer could not be
// delivered. The client sees the connection closed with nothing answered,
// as if the request had never arrived, and the platform delivers it
// again. Without the claim that closeIdle takes on a connection before
// closing it (connClosing), the handler runs: "the handler ran for a
// webhook read from a connection closed as idle".
func TestShutdownIdleCloseRacingARequest(t *testing.T) {
	svc, _, _ := newTestService(t, WithDrainDelay(0))
	var ran atomic.Int32
	svc.OnOrgInstall(func(context.Context, *Request) Response { ran.Add(1); return OK(nil) })
	// A webhook in flight keeps Serve from closing the server (and
	// net/http from dropping requests) until the test is done.
	blocking, unblock := make(chan struct{}), make(chan struct{})
	svc.OnOrgUninstall(func(context.Context, *Request) Response {
		close(blocking)
		<-unblock
		return OK(nil)
	})
	ln := listenHooked(t)
	accepted := ln.holdConns()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	c := rawConn(t, ln.Addr().String(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, err := readStatus(t, c, 30*time.Second); err != nil || code != 200 {
		t.Fatalf("healthz: %d %v", code, err)
	}
	held := <-accepted
	blocker := rawConn(t, ln.Addr().String(), signedRequest(t, OrgUninstall))
	<-blocking

	held.hold.Store(true)
	if _, err := io.WriteString(c, signedRequest(t, OrgInstall)); err != nil {
		t.Fatal(err)
	}
	cancel() // the server closes the connection once idle for idleQuiet
	if err := closedUnanswered(c, 30*time.Second); err != nil {
		t.Errorf("keep-alive connection at shutdown: %v", err)
	}
	select {
	case <-held.late:
	case <-time.After(30 * time.Second): // a guard against hanging
		t.Fatal("the server never finished with the request it read as it closed the connection")
	}
	close(unblock)
	if code, err := readStatus(t, blocker, 30*time.Second); err != nil || code != 200 {
		t.Errorf("webhook in flight: %d %v", code, err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if ran.Load() != 0 {
		t.Error("the handler ran for a webhook read from a connection closed as idle")
	}
}

// signedRequest is the wire form of a signed webhook of etype.
func signedRequest(t *testing.T, etype EventType) string {
	t.Helper()
	body := mustJSON(t, envelopeFor(etype, nil))
	req, _ := http.NewRequest(http.MethodPost, "http://x/", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	return wire.String()
}
