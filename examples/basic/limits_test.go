//go:build linux

package main

// Hostile load against the built example, on loopback: what an attacker
// without the secret can make it spend, and what a stop costs. Each test
// is bounded in time (a few seconds of load) and skipped under -short.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
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

// legitimate posts signed requests on fresh connections every interval
// until stop is closed, and returns how long each answer took; an answer
// that is not a success, or later than timeout, fails t.
func legitimate(t *testing.T, url string, every, timeout time.Duration, stop <-chan struct{}) []time.Duration {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	var took []time.Duration
	for {
		select {
		case <-stop:
			return took
		case <-time.After(every):
		}
		body := signedRequest()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set(service.SignatureHeader, service.Sign([]byte(conformanceSecret), body))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("signed request after %v: %v", time.Since(start), err)
			continue
		}
		var out struct{ Success bool }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		took = append(took, time.Since(start))
		if err != nil || resp.StatusCode != 200 || !out.Success {
			t.Errorf("signed request: status %d, success %v, %v", resp.StatusCode, out.Success, err)
		}
	}
}

func latencies(took []time.Duration) string {
	if len(took) == 0 {
		return "none"
	}
	s := slices.Clone(took)
	slices.Sort(s)
	return fmt.Sprintf("%d answered, median %v, p99 %v, max %v", len(s), s[len(s)/2].Round(time.Millisecond),
		s[len(s)*99/100].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// Twenty connections without the secret each announce a 32 MiB body, send
// 31 MiB of it and stall, again and again: the process stays under 200 MB
// and signed requests are answered all along.
func TestUnsignedUploadsBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s of hostile load against the example binary")
	}
	p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret}})

	// An over-limit Content-Length is refused before any body is sent.
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", service.DefaultMaxBodyBytes+1)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over-limit Content-Length without a body: %v %v; want 413", resp, err)
	}
	c.Close()

	stop := make(chan struct{})
	var uploads, bytesSent atomic.Int64
	var wg sync.WaitGroup
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 20 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", p.Addr, time.Second)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				go func() { <-stop; c.Close() }()
				uploads.Add(1)
				fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 32<<20)
				for range 31 {
					n, err := c.Write(chunk)
					bytesSent.Add(int64(n))
					if err != nil {
						break
					}
				}
				_, _ = io.Copy(io.Discard, c) // stall until the server hangs up
				c.Close()
			}
		})
	}
	var peakNow uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if now, _, err := p.RSS(); err == nil {
					peakNow = max(peakNow, now)
				}
			}
		}
	}()
	time.AfterFunc(12*time.Second, func() { close(stop) })
	took := legitimate(t, p.URL, 100*time.Millisecond, 10*time.Second, stop)
	wg.Wait()
	<-sampled
	_, hwm, err := p.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d unsigned uploads, %d MiB sent; RSS peak %d MB (sampled %d MB); signed requests: %s",
		uploads.Load(), bytesSent.Load()>>20, hwm>>20, peakNow>>20, latencies(took))
	if hwm > 200<<20 {
		t.Errorf("RSS peaked at %d MB, want under 200 MB", hwm>>20)
	}
	if len(took) < 50 {
		t.Errorf("only %d signed requests answered in 12 s", len(took))
	}
}

// Under a 1,024 open-file limit, 1,100 connections that trickle a body at
// a byte a second, or that sit idle after a request, do not keep signed
// requests from being answered within a second.
func TestConnectionFloodUnderFDLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("2 × 10 s of 1,100 hostile connections against the example binary")
	}
	for _, mode := range []string{"slow body", "idle keep-alive"} {
		t.Run(mode, func(t *testing.T) {
			p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret}, MaxOpenFiles: 1024})
			if limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.Cmd.Process.Pid)); err != nil ||
				!regexp.MustCompile(`Max open files +1024 +1024`).Match(limits) {
				t.Fatalf("the example does not run under a 1,024 open-file limit: %v\n%s", err, limits)
			}
			stop := make(chan struct{})
			var conns, reconnects atomic.Int64
			var wg sync.WaitGroup
			for i := range 1100 {
				wg.Go(func() { flood(p.Addr, mode, i, stop, &conns, &reconnects) })
			}
			// Let the flood build up before measuring.
			for deadline := time.Now().Add(5 * time.Second); conns.Load() < 1100 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			time.AfterFunc(8*time.Second, func() { close(stop) })
			took := legitimate(t, p.URL, 100*time.Millisecond, 5*time.Second, stop)
			wg.Wait()
			t.Logf("%s: %d hostile connections open at the start, %d reconnections; signed requests: %s",
				mode, conns.Load(), reconnects.Load(), latencies(took))
			for _, d := range took {
				if d > time.Second {
					t.Errorf("a signed request took %v", d)
				}
			}
			if len(took) < 40 {
				t.Errorf("only %d signed requests answered in 8 s", len(took))
			}
		})
	}
}

// flood keeps one hostile connection open until stop: trickling a body a
// byte a second, or idle after one request; when the server closes it, it
// comes back.
func flood(addr, mode string, i int, stop <-chan struct{}, conns, reconnects *atomic.Int64) {
	first := true
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if first {
			conns.Add(1)
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
				case <-time.After(time.Second):
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
			return
		case <-time.After(time.Duration(50+i%100) * time.Millisecond):
		}
	}
}

// Sixteen clients post continuously while the example gets SIGTERM: every
// request that reached it is answered in full; once the listener closes,
// clients can no longer connect; the process exits cleanly.
func TestSIGTERMLosesNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example binary through a shutdown")
	}
	p := exampletest.Run(t, exampletest.Options{Env: []string{"LC_SHARED_SECRET=" + conformanceSecret}})
	type tally struct{ answered, refused int }
	results := make(chan tally, 16)
	failures := make(chan error, 16)
	for range 16 {
		go func() {
			var n tally
			defer func() { results <- n }()
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for {
				body := signedRequest()
				req, _ := http.NewRequest(http.MethodPost, p.URL, bytes.NewReader(body))
				req.Header.Set(service.SignatureHeader, service.Sign([]byte(conformanceSecret), body))
				resp, err := client.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						n.refused++
						return // the listener is closed: this one was never sent
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
				n.answered++
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	sent := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Unready while draining.
	time.Sleep(200 * time.Millisecond)
	if resp, err := http.Get(p.URL + "readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %v %v; want 503", resp, err)
	} else {
		resp.Body.Close()
	}
	exited, err := p.Wait(30 * time.Second)
	if !exited || err != nil {
		t.Fatalf("after SIGTERM: exited %v, %v", exited, err)
	}
	stopped := time.Since(sent)
	var total tally
	for range 16 {
		n := <-results
		total.answered += n.answered
		total.refused += n.refused
	}
	close(failures)
	for err := range failures {
		t.Errorf("a request sent before the listener closed failed: %v", err)
	}
	t.Logf("%d requests answered; all 16 clients then found the listener closed (%d); exited %v after SIGTERM",
		total.answered, total.refused, stopped.Round(time.Millisecond))
	if total.refused != 16 {
		t.Errorf("%d clients ended on a refused connection, want 16", total.refused)
	}
}
