package survey_test

// BenchmarkSoak runs the package-survey service under a mixed load for
// minutes and reports its memory and goroutines. It is part of `make
// bench` (and `make soak` runs it alone), not of `make test`.
//
//	go test -run '^$' -bench Soak -benchtime 1x ./examples/packages/survey
//	SOAK_DURATION=10m go test -run '^$' -bench Soak ./examples/packages/survey
//
// The service runs in this process on a loopback listener, with its real
// server and limits; a small fake of the cloud answers its API calls and
// sends back, as the cloud would, a signed detection for every task. The
// load, all at once: surveys (request → task → reply → job), health
// checks, redeliveries of the same message, forged replies, unsigned
// bodies of up to 512 KiB, over-limit Content-Lengths, and connections
// that stall in the middle of a body.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

const soakOID = "11111111-2222-3333-4444-555555555555"

// soak is one run: the service, the fake cloud and the counters.
type soak struct {
	b      *testing.B
	url    string // the service
	client *http.Client
	mids   atomic.Int64

	ok, unexpected       atomic.Int64 // answers as expected, and not
	replies, replyErrors atomic.Int64 // detections the fake cloud sent back
	mu                   sync.Mutex
	firstUnexpected      string
}

func BenchmarkSoak(b *testing.B) {
	duration := 2 * time.Minute
	if testing.Short() {
		duration = 10 * time.Second
	}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SOAK_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	s := &soak{b: b, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	replies := make(chan struct{}, 32) // bounds the detections in flight
	var inFlight sync.WaitGroup
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		_, _ = io.WriteString(w, `{}`)
		inv, sid := form.Get("investigation_id"), strings.TrimPrefix(r.URL.Path, "/v1/")
		if r.Method != http.MethodPost || inv == "" {
			return // a rule call
		}
		replies <- struct{}{}
		inFlight.Go(func() {
			defer func() { <-replies }()
			s.reply(sid, inv)
		})
	}))
	defer api.Close()

	is, err := survey.New(secret, survey.Options{TTL: 30 * time.Second, Interactive: []interactive.Option{
		interactive.WithAPIURL(api.URL),
		interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard), service.WithDrainDelay(0)),
	}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s.url = "http://" + ln.Addr().String() + "/"
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- is.Serve(ctx, ln) }()
	s.expect("install", s.post(s.envelope("org_install", map[string]any{}), true), http.StatusOK, true)

	runtime.GC()
	start := sample(is)
	b.Logf("soak for %v; at start: %s", duration, start)
	b.ResetTimer()

	load, endLoad := context.WithTimeout(context.Background(), duration)
	defer endLoad()
	var wg sync.WaitGroup
	worker := func(n int, fn func()) {
		for range n {
			wg.Go(func() {
				for load.Err() == nil {
					fn()
				}
			})
		}
	}
	worker(4, s.survey)
	worker(1, func() { s.expect("health", s.post(s.envelope("health", map[string]any{}), true), 200, true) })
	worker(1, s.redelivery)
	worker(1, s.forged)
	worker(2, s.unsigned)
	worker(1, s.oversized)
	worker(1, s.stalled)

	peak := start
	tick := time.NewTicker(time.Second)
	last := time.Now()
	for load.Err() == nil {
		select {
		case <-tick.C:
			now := sample(is)
			peak = peak.max(now)
			if time.Since(last) >= 10*time.Second || testing.Verbose() && time.Since(last) >= 5*time.Second {
				last = time.Now()
				b.Logf("%s  answered %d, unexpected %d, replies %d", now, s.ok.Load(), s.unexpected.Load(), s.replies.Load())
			}
		case <-load.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	b.StopTimer()
	elapsed := duration

	// Let the replies in flight land (each bounded by the client's
	// timeout), then see what is left once the idle connections' goroutines
	// — the client's and the server's — have had a chance to end.
	inFlight.Wait()
	s.client.CloseIdleConnections()
	settle(start.goroutines + 50)
	runtime.GC()
	end := sample(is)
	stop()
	if err := <-served; err != nil {
		b.Errorf("Serve: %v", err)
	}
	runtime.GC()
	settle(start.goroutines + 10)
	after := runtime.NumGoroutine()

	st := is.Stats()
	b.Logf("at end: %s", end)
	b.Logf("peak: %s", peak)
	b.Logf("answered as expected %d (%.0f/s), unexpected %d; replies %d (failed %d); tasked %d, refused %d, routed %d, orphans %d; service: %+v",
		s.ok.Load(), float64(s.ok.Load())/elapsed.Seconds(), s.unexpected.Load(), s.replies.Load(), s.replyErrors.Load(),
		st.Tasked, st.Refused, st.RoutedClosure+st.RoutedNamed, st.Orphans, st.Transport)
	b.ReportMetric(float64(s.ok.Load())/elapsed.Seconds(), "webhooks/s")
	b.ReportMetric(float64(peak.rss)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(end.rss)/(1<<20), "end-RSS-MB")
	b.ReportMetric(float64(end.heap)/(1<<20), "end-heap-MB")
	b.ReportMetric(float64(end.goroutines), "end-goroutines")
	b.ReportMetric(float64(after), "goroutines-after-stop")

	if n := s.unexpected.Load(); n > 0 {
		b.Errorf("%d unexpected answers; the first: %s", n, s.firstUnexpected)
	}
	if s.replyErrors.Load() > 0 {
		b.Errorf("%d replies were not answered with success", s.replyErrors.Load())
	}
	if leaked := end.goroutines - start.goroutines; leaked > 50 {
		b.Errorf("%d more goroutines at the end than at the start", leaked)
	}
	if after > start.goroutines+10 {
		b.Errorf("%d goroutines after the service stopped, %d before it served", after, start.goroutines)
	}
}

// settle waits until at most n goroutines run, or 10 s have passed:
// goroutines that are ending give no signal, so their number is watched.
func settle(n int) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	give := time.After(10 * time.Second)
	for runtime.NumGoroutine() > n {
		select {
		case <-tick.C:
		case <-give:
			return
		}
	}
}

// survey asks for a survey of one of 50 sensors: answered with a job.
func (s *soak) survey() {
	sid := fmt.Sprintf("aaaaaaaa-bbbb-cccc-dddd-%012d", rand.N(50))
	s.expect("survey", s.post(s.envelope("request", map[string]any{"sid": sid}), true), http.StatusOK, true)
}

// redelivery sends one message twice at once: both get the same answer.
func (s *soak) redelivery() {
	sid := fmt.Sprintf("bbbbbbbb-bbbb-cccc-dddd-%012d", rand.N(50))
	env := s.envelope("request", map[string]any{"sid": sid})
	var a, c answer
	var wg sync.WaitGroup
	wg.Go(func() { a = s.post(env, true) })
	wg.Go(func() { c = s.post(env, true) })
	wg.Wait()
	s.expect("redelivery", a, http.StatusOK, true)
	if a.body != c.body {
		s.fail(fmt.Sprintf("redelivery answered differently: %s / %s", a.body, c.body))
	}
}

// forged sends a reply whose token is signed with another secret.
func (s *soak) forged() {
	other, _ := token.NewCodec(survey.Name, []byte("not the secret"))
	sid := "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee"
	inv, _ := other.Encode(token.Token{ID: [16]byte{1}, Expiry: time.Now().Add(time.Hour)}, soakOID, sid)
	s.expect("forged reply", s.post(s.envelope("detection", detection(sid, inv)), true), http.StatusOK, true)
}

// unsigned posts a body of up to 512 KiB with a wrong signature.
func (s *soak) unsigned() {
	body := bytes.Repeat([]byte("x"), 1+rand.N(512<<10))
	a := s.raw(body, "00")
	if a.status != http.StatusUnauthorized && a.status != http.StatusServiceUnavailable {
		s.fail(fmt.Sprintf("unsigned body of %d bytes: status %d", len(body), a.status))
		return
	}
	s.ok.Add(1)
}

// oversized announces a body over the limit and sends none.
func (s *soak) oversized() {
	c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.url, "/"), "http://"))
	if err != nil {
		s.fail("dial: " + err.Error())
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", service.DefaultMaxBodyBytes+1)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		s.fail(fmt.Sprintf("over-limit Content-Length: %v %v", resp, err))
		return
	}
	resp.Body.Close()
	s.ok.Add(1)
	time.Sleep(10 * time.Millisecond) // the attacker's pace
}

// stalled sends half a body and waits to be cut off.
func (s *soak) stalled() {
	c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.url, "/"), "http://"))
	if err != nil {
		s.fail("dial: " + err.Error())
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n{\"version\":1,")
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		s.fail(fmt.Sprintf("stalled body: %v %v", resp, err))
		return
	}
	resp.Body.Close()
	s.ok.Add(1)
}

// reply is the fake cloud sending back the sensor's answer to a task.
func (s *soak) reply(sid, inv string) {
	pkgs := make([]map[string]string, 50)
	for i := range pkgs {
		pkgs[i] = map[string]string{"PACKAGE_NAME": "pkg-" + strconv.Itoa(i), "PACKAGE_VERSION": "1.0"}
	}
	a := s.post(s.envelope("detection", detectionWith(sid, inv, map[string]any{"PACKAGES": pkgs})), true)
	s.replies.Add(1)
	if a.status != http.StatusOK || !a.Success {
		s.replyErrors.Add(1)
	}
}

func detection(sid, inv string) map[string]any { return detectionWith(sid, inv, map[string]any{}) }

func detectionWith(sid, inv string, event any) map[string]any {
	routing := map[string]any{"oid": soakOID, "sid": sid, "hostname": "host", "event_type": "OS_PACKAGES_REP",
		"event_time": time.Now().UnixMilli(), "investigation_id": inv}
	return map[string]any{"cat": token.DetectionName(survey.Name), "routing": routing, "detect": event}
}

func (s *soak) envelope(etype string, data any) []byte {
	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": soakOID, "mid": "soak-" + strconv.FormatInt(s.mids.Add(1), 10), "jwt": "jwt",
		"deadline": time.Now().Add(590 * time.Second).Unix(), "etype": etype, "data": data,
	})
	return body
}

type answer struct {
	status  int
	body    string
	Success bool `json:"success"`
}

func (s *soak) post(body []byte, signed bool) answer {
	sig := "00"
	if signed {
		sig = service.Sign([]byte(secret), body)
	}
	return s.raw(body, sig)
}

func (s *soak) raw(body []byte, sig string) answer {
	req, _ := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	req.Header.Set(service.SignatureHeader, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b)}
	_ = json.Unmarshal(b, &a)
	return a
}

func (s *soak) expect(what string, a answer, status int, success bool) {
	if a.status != status || a.Success != success {
		s.fail(fmt.Sprintf("%s: status %d, %s", what, a.status, a.body))
		return
	}
	s.ok.Add(1)
}

func (s *soak) fail(msg string) {
	if s.unexpected.Add(1) == 1 {
		s.mu.Lock()
		s.firstUnexpected = msg
		s.mu.Unlock()
	}
}

// snapshot is one sample of the process.
type snapshot struct {
	rss, heap           uint64
	goroutines, pending int
	conns               int64
}

func sample(is *interactive.Service) snapshot {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return snapshot{rss: rss(), heap: m.HeapInuse, goroutines: runtime.NumGoroutine(),
		pending: int(is.Stats().Pending.Pending), conns: is.Stats().Transport.OpenConns}
}

func (a snapshot) max(b snapshot) snapshot {
	return snapshot{rss: max(a.rss, b.rss), heap: max(a.heap, b.heap), goroutines: max(a.goroutines, b.goroutines),
		pending: max(a.pending, b.pending), conns: max(a.conns, b.conns)}
}

func (a snapshot) String() string {
	return fmt.Sprintf("RSS %.1f MB, heap %.1f MB, %d goroutines, %d pending tasks, %d connections",
		float64(a.rss)/(1<<20), float64(a.heap)/(1<<20), a.goroutines, a.pending, a.conns)
}

// rss reads the process's resident set from /proc (Linux); elsewhere the
// memory the Go runtime holds from the system.
func rss() uint64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return kb << 10
			}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys
}
