//go:build linux

package main

// Hostile load against the built example, on loopback: what an attacker
// without the secret can make it spend, and what a stop costs. Each test
// is bounded in time (a few seconds of load) and skipped under -short.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/service"
)

// signedRequest is a request event for the example, signed, with a mid of
// its own.
func signedRequest() []byte {
	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": "11111111-2222-3333-4444-555555555555", "mid": fmt.Sprint("limits-", time.Now().UnixNano()),
		"deadline": time.Now().Add(590 * time.Second).Unix(), "jwt": "jwt", "etype": "request",
		"data": map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
	})
	return body
}

// serverTimeLimit is the shortest time limit the server puts on a slow
// client (its read-header timeout, and the grace before a body must keep
// the minimum rate: 5 s each). A defence that did not work would leave a
// signed request waiting for one of these to free a place; a defence that
// works answers it long before.
const serverTimeLimit = 5 * time.Second

// signedRequests is how many signed requests each hostile-load test sends
// while the attack is under way; each must be answered.
const signedRequests = 20

// legitimate posts n signed requests one after another, each on a fresh
// connection, and returns how long each took to be answered. Like the
// platform, it sends a request again when the connection failed before an
// answer (at the cap, a signed request not read yet looks like any other
// newcomer, and may be the one closed to make room): a request not
// answered 200 with success within timeout, all attempts included, fails t.
func legitimate(t *testing.T, url string, n int, timeout time.Duration) []time.Duration {
	var took []time.Duration
	for range n {
		body := signedRequest()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var resp *http.Response
		var err error
		for attempt := 1; ; attempt++ {
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set(service.SignatureHeader, service.Sign([]byte(conformanceSecret), body))
			resp, err = client.Do(req)
			if err == nil || ctx.Err() != nil {
				break
			}
			t.Logf("signed request, attempt %d: %v; sending it again", attempt, err)
		}
		if err != nil {
			cancel()
			t.Errorf("signed request not answered within %v: %v", time.Since(start).Round(time.Millisecond), err)
			continue
		}
		var out struct{ Success bool }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		cancel()
		took = append(took, time.Since(start))
		if err != nil || resp.StatusCode != 200 || !out.Success {
			t.Errorf("signed request: status %d, success %v, %v", resp.StatusCode, out.Success, err)
		}
	}
	return took
}

func latencies(took []time.Duration) string {
	if len(took) == 0 {
		return "none"
	}
	s := slices.Clone(took)
	slices.Sort(s)
	return fmt.Sprintf("%d answered, median %v, max %v", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// Twenty connections without the secret each announce a 32 MiB body, send
// 31 MiB of it and stall, again and again, until they have sent four
// times the server's budget for unauthenticated bytes: the process stays
// under 200 MB and every signed request sent meanwhile is answered.
//
// Without the budget (service.WithBodyBudget(1<<40) in the example), the
// stalled bodies are held in memory and RSS passes 200 MB (271 MB seen).
func TestUnsignedUploadsBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile load against the example binary")
	}
	p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret}, Production: true})

	// An over-limit Content-Length is refused before any body is sent.
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: %d\r\n\r\n", service.DefaultMaxBodyBytes+1)
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over-limit Content-Length without a body: %v %v; want 413", resp, err)
	}
	c.Close()

	stop := make(chan struct{})
	var uploads, bytesSent atomic.Int64
	spent := make(chan struct{})  // the attackers sent the whole budget
	enough := make(chan struct{}) // and 4 × the budget
	var spentOnce, enoughOnce sync.Once
	var wg sync.WaitGroup
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 20 {
		wg.Go(func() {
			for !stopped(stop) {
				c, err := net.DialTimeout("tcp", p.Addr, serverTimeLimit)
				if err != nil {
					continue // the server is at its connection cap: try again
				}
				go func() { <-stop; c.Close() }()
				uploads.Add(1)
				// A signature, if a wrong one: without any, the body
				// would be refused unread.
				fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nLc-Svc-Sig: 00\r\nContent-Length: %d\r\n\r\n", 32<<20)
				for range 31 {
					n, err := c.Write(chunk)
					sent := bytesSent.Add(int64(n))
					if sent >= service.DefaultBodyBudget {
						spentOnce.Do(func() { close(spent) })
					}
					if sent >= 4*service.DefaultBodyBudget {
						enoughOnce.Do(func() { close(enough) })
					}
					if err != nil {
						break
					}
				}
				_, _ = io.Copy(io.Discard, c) // stall until the server hangs up
				c.Close()
			}
		})
	}
	// The signed requests go out once the attack has filled the budget;
	// the attack lasts until they are answered and it has sent enough.
	<-spent
	took := legitimate(t, p.URL, signedRequests, serverTimeLimit)
	<-enough
	close(stop)
	wg.Wait()
	_, hwm, err := p.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d unsigned uploads, %d MiB sent; RSS peak %d MB; signed requests: %s",
		uploads.Load(), bytesSent.Load()>>20, hwm>>20, latencies(took))
	if hwm > 200<<20 {
		t.Errorf("RSS peaked at %d MB, want under 200 MB", hwm>>20)
	}
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// Under a 1,024 open-file limit, 1,100 connections that trickle a body at
// a byte a second, or that sit idle after a request, do not keep a signed
// request from being answered: each of those sent while all 1,100 are
// connected is answered 200 well before the server's own time limits
// would have freed a place.
//
// Without eviction at the cap (connLimiter.victimLocked in service/conn.go
// returning nil), a signed connection waits in the kernel's queue behind
// the flood until the server's timeouts close a hostile one, and the
// signed requests time out.
func TestConnectionFloodUnderFDLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("2 × 1,100 hostile connections against the example binary")
	}
	for _, mode := range []string{"slow body", "idle keep-alive"} {
		t.Run(mode, func(t *testing.T) {
			p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret}, MaxOpenFiles: 1024})
			if limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.Cmd.Process.Pid)); err != nil ||
				!regexp.MustCompile(`Max open files +1024 +1024`).Match(limits) {
				t.Fatalf("the example does not run under a 1,024 open-file limit: %v\n%s", err, limits)
			}
			stop := make(chan struct{})
			var reconnects atomic.Int64
			var connected, wg sync.WaitGroup
			connected.Add(1100)
			for i := range 1100 {
				wg.Go(func() { flood(p.Addr, mode, i, stop, &connected, &reconnects) })
			}
			connected.Wait() // the whole flood is in
			took := legitimate(t, p.URL, signedRequests, serverTimeLimit)
			close(stop)
			wg.Wait()
			t.Logf("%s: 1100 hostile connections, %d reconnections; signed requests: %s",
				mode, reconnects.Load(), latencies(took))
		})
	}
}

// flood keeps one hostile connection open until stop: trickling a body a
// byte a second, or idle after one request; when the server closes it, it
// comes back after a pause of its own. Its first connection is counted
// done on connected.
func flood(addr, mode string, i int, stop <-chan struct{}, connected *sync.WaitGroup, reconnects *atomic.Int64) {
	first := true
	for !stopped(stop) {
		c, err := net.DialTimeout("tcp", addr, serverTimeLimit)
		if err != nil {
			continue
		}
		if first {
			connected.Done()
			first = false
		} else {
			reconnects.Add(1)
		}
		closed := make(chan struct{})
		go func() {
			select {
			case <-stop:
			case <-closed:
			}
			c.Close()
		}()
		if mode == "slow body" {
			_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
			for err == nil {
				select {
				case <-stop:
					err = errors.New("stopped")
				case <-time.After(time.Second): // the attack: a byte a second
					_, err = c.Write([]byte("x"))
				}
			}
		} else {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			_, _ = io.Copy(io.Discard, c) // the answer, then idle until closed
		}
		close(closed)
		select {
		case <-stop:
		case <-time.After(time.Duration(50+i%100) * time.Millisecond): // the attacker's own pause
		}
	}
	if first {
		connected.Done() // stopped before connecting: do not hold the count
	}
}

// Sixteen clients post continuously while the example gets SIGTERM: every
// request the example handled was answered in full; readiness turns 503
// while it drains; once the listener closes, clients can no longer
// connect; the process exits cleanly.
//
// A request that fails in transit is sent again on a fresh connection, as
// the platform redelivers a webhook: on a loaded machine the server may
// close a keep-alive connection as idle just as a client writes to it,
// and that request was never read. The example logs each request it
// handles (LC_LOG_LEVEL=debug), so the test knows which were read.
//
// Without the drain (Serve calling srv.Close at once on the signal),
// readiness never answers 503 and the test fails; a request handled as
// its connection is cut would be counted lost.
func TestSIGTERMLosesNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example binary through a shutdown")
	}
	p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret,
		"LC_DRAIN_DELAY=3s", "LC_LOG_LEVEL=debug"}})
	type tally struct {
		answered         map[string]bool // by mid
		refused, resends int
	}
	results := make(chan tally, 16)
	failures := make(chan error, 16)
	var count atomic.Int64
	warm := make(chan struct{}) // 64 requests answered: all clients are at it
	var warmOnce sync.Once
	for range 16 {
		go func() {
			n := tally{answered: map[string]bool{}}
			defer func() { results <- n }()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			var body []byte // a request that failed in transit, to send again
			for {
				if body == nil {
					body = signedRequest()
				}
				req, _ := http.NewRequest(http.MethodPost, p.URL, bytes.NewReader(body))
				req.Header.Set(service.SignatureHeader, service.Sign([]byte(conformanceSecret), body))
				resp, err := client.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						n.refused++
						return // the listener is closed
					}
					n.resends++
					client.CloseIdleConnections()
					continue
				}
				var out struct{ Success bool }
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !out.Success {
					failures <- fmt.Errorf("status %d, success %v, %v", resp.StatusCode, out.Success, err)
					return
				}
				n.answered[midOf(body)] = true
				body = nil
				if count.Add(1) == 64 {
					warmOnce.Do(func() { close(warm) })
				}
			}
		}()
	}
	<-warm
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	// Readiness, asked back to back from the signal on: once it answers
	// 503 it never answers 200 again, and it answers 503 before the
	// listener closes (3 s of drain, LC_DRAIN_DELAY).
	var ready []int
	for {
		resp, err := http.Get(p.URL + "readyz")
		if err != nil {
			break // the listener is closed
		}
		resp.Body.Close()
		ready = append(ready, resp.StatusCode)
	}
	if i := slices.Index(ready, http.StatusServiceUnavailable); i < 0 {
		t.Errorf("readyz never answered 503 while draining: %v", ready)
	} else if slices.Contains(ready[i:], http.StatusOK) {
		t.Errorf("readyz answered 200 after 503: %v", ready)
	}
	exited, err := p.Wait(time.Minute) // its shutdown timeout is 25 s
	if !exited || err != nil {
		t.Fatalf("after SIGTERM: exited %v, %v", exited, err)
	}
	stopped := time.Since(sent)
	answered := map[string]bool{}
	var refused, resends int
	for range 16 {
		n := <-results
		maps.Copy(answered, n.answered)
		refused += n.refused
		resends += n.resends
	}
	close(failures)
	for err := range failures {
		t.Errorf("a request was answered badly: %v", err)
	}
	handled := handledMIDs(p.Logs())
	lost := 0
	for mid := range handled {
		if !answered[mid] {
			lost++
		}
	}
	t.Logf("%d requests handled, %d answered, %d sent again after failing in transit; all 16 clients then found the listener closed (%d); exited %v after SIGTERM",
		len(handled), len(answered), resends, refused, stopped.Round(time.Millisecond))
	if lost > 0 {
		t.Errorf("%d requests the example handled were never answered", lost)
	}
	if len(handled) < len(answered) {
		t.Errorf("the example logged %d requests and answered %d: is it logging at debug level?", len(handled), len(answered))
	}
	if refused != 16 {
		t.Errorf("%d clients ended on a refused connection, want 16", refused)
	}
}

// midOf is the mid of a request made by signedRequest.
func midOf(body []byte) string {
	var env struct{ MID string }
	_ = json.Unmarshal(body, &env)
	return env.MID
}

// handledMIDs are the mids of the requests the example logged handling.
func handledMIDs(logs string) map[string]bool {
	mids := map[string]bool{}
	for line := range strings.Lines(logs) {
		var l struct{ Message, MID string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "request" && l.MID != "" {
			mids[l.MID] = true
		}
	}
	return mids
}
