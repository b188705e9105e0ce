package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// fakeReplica is one replica of a service on loopback: it checks each
// webhook's signature, keeps the etypes it was sent, and answers success,
// or breaks the connection for every webhook but health when broken.
type fakeReplica struct {
	url    string
	mu     sync.Mutex
	etypes []string
	badSig int // webhooks whose signature did not match
}

func newFakeReplica(t *testing.T, secret string, broken bool) *fakeReplica {
	t.Helper()
	f := &fakeReplica{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			EType string `json:"etype"`
		}
		_ = json.Unmarshal(body, &env)
		f.mu.Lock()
		f.etypes = append(f.etypes, env.EType)
		if r.Header.Get(service.SignatureHeader) != service.Sign([]byte(secret), body) {
			f.badSig++
		}
		f.mu.Unlock()
		if broken && env.EType != "health" {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true}`)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	return f
}

func (f *fakeReplica) received() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.etypes), f.badSig
}

// Two replicas behind round robin: registration's health goes to r1, then
// each webhook to the next replica; the output names the replica of each.
func TestEmulateReplicasRoundRobin(t *testing.T) {
	r1, r2 := newFakeReplica(t, "s", false), newFakeReplica(t, "s", false)
	code, out, errOut := runBounded(t, 15*time.Second, "emulate", "-exit", "-install", "-request", "{}", "-tick", "org_per_1h",
		"-service", r1.url+","+r2.url, "-secret", "s", "-name", "fake")
	if code != 0 {
		t.Errorf("exit code %d, want 0; stderr: %s", code, errOut)
	}
	for _, want := range []string{
		"# waiting up to 2m0s for the service at r1 " + r1.url + ", r2 " + r2.url + " to answer health…\n",
		`service "fake" at r1 ` + r1.url + ", r2 " + r2.url + " (round-robin) answered health: ",
		"» [r2] org_install webhook to fake\n« [r2] org_install answered: success\n",
		"» [r1] request webhook to fake\n« [r1] request answered: success\n",
		"» [r2] org_per_1h webhook to fake\n« [r2] org_per_1h answered: success\n",
		"exchanges (3):\n  org_install  r2  success\n  request      r1  success\n  org_per_1h   r2  success\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for i, c := range []struct {
		r    *fakeReplica
		want []string
	}{{r1, []string{"health", "health", "request"}}, {r2, []string{"health", "org_install", "org_per_1h"}}} {
		// The first health of each is emulate's wait for it; r1's second
		// is the registration's, delivered through the balancer.
		got, bad := c.r.received()
		if !slices.Equal(got, c.want) || bad != 0 {
			t.Errorf("replica %d received %q (%d with a bad signature), want %q", i+1, got, bad, c.want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// A replica that cannot be reached fails the delivery (502 from the load
// balancer, naming the replica), and emulate exits 1.
func TestEmulateReplicaUnreachable(t *testing.T) {
	r1, r2 := newFakeReplica(t, "s", false), newFakeReplica(t, "s", true)
	code, out, errOut := runBounded(t, 15*time.Second, "emulate", "-exit", "-install",
		"-service", r1.url+","+r2.url, "-secret", "s", "-name", "fake")
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr: %s", code, errOut)
	}
	failure := "answered HTTP 502 (Bad Gateway): the load balancer got no answer from replica 2 at " + r2.url + ": "
	for _, want := range []string{
		"✗ [r2] org_install webhook to fake failed: " + failure,
		"  org_install  r2  error: " + failure,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A replica down at the start is waited for as a single service is, up to
// -wait; one that refuses the signature stops emulate at once. Either way
// the error names the replica.
func TestEmulateReplicaNotReady(t *testing.T) {
	up := newFakeReplica(t, "s", false)
	down := closedPort(t)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid signature"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(refusing.Close)
	cases := []struct {
		name, second, err string
		notYet            int
	}{
		{"down", down, "lcsim emulate: replica 2: no answer from " + down + " within 1.2s: is the service running?", 1},
		{"refused signature", refusing.URL + "/", "lcsim emulate: replica 2: the service at " + refusing.URL + "/ refused the signature (HTTP 401)", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runBounded(t, 15*time.Second, "emulate", "-exit", "-install", "-wait", "1200ms",
				"-service", up.url+","+c.second, "-secret", "s")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(errOut, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, errOut)
			}
			if n := strings.Count(out, "# r2 not yet"); n != c.notYet || strings.Contains(out, "# r1 not yet") {
				t.Errorf("want %d 'r2 not yet' lines and no 'r1 not yet':\n%s", c.notYet, out)
			}
			if !strings.Contains(out, "# stopped: the service could not be registered\n") {
				t.Errorf("output does not say it stopped:\n%s", out)
			}
		})
	}
}

func TestEmulateReplicaFlags(t *testing.T) {
	const a, b = "http://127.0.0.1:1/", "http://127.0.0.1:2/"
	cases := []struct {
		name string
		args []string
		err  string
	}{
		{"bad URL in the list", []string{"-service", a + ",ftp://x"}, `-service: "ftp://x" (replica 2) is not an http(s) URL`},
		{"empty URL in the list", []string{"-service", a + ",," + b}, "-service: URL 2 of 3 is empty"},
		{"URL twice", []string{"-service", a + "," + b + "," + a}, `-service lists "` + a + `" twice`},
		{"service twice", []string{"-service", a, "-service", b}, "-service given twice: list every replica's URL in one -service, separated by commas"},
		{"bad balance", []string{"-service", a + "," + b, "-balance", "leastconn"}, `"leastconn": use roundrobin or random`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), append([]string{"emulate", "-secret", "s"}, c.args...), nil, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), c.err) {
				t.Errorf("code %d, want 2 and stderr with %q\nstderr: %s", code, c.err, errOut.String())
			}
		})
	}
}

// -balance random is passed to the cloud: the replicas get the webhooks
// lctest's Random balancing with seed 0 chooses for the same deliveries.
func TestEmulateReplicasRandom(t *testing.T) {
	r1, r2 := newFakeReplica(t, "s", false), newFakeReplica(t, "s", false)
	code, out, errOut := runBounded(t, 15*time.Second, "emulate", "-exit", "-install", "-request", "{}", "-tick", "org_per_1h",
		"-balance", "random", "-service", r1.url+","+r2.url, "-secret", "s", "-name", "fake")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "(random) answered health") {
		t.Errorf("output does not name the balancing:\n%s", out)
	}

	// The same deliveries through lctest directly.
	cloud := lctest.New(t)
	org := cloud.NewOrg("acme")
	var mu sync.Mutex
	want := [2][]string{{"health"}, {"health"}} // emulate's own wait for each
	replica := func(i int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var env struct {
				EType string `json:"etype"`
			}
			_ = json.NewDecoder(r.Body).Decode(&env)
			mu.Lock()
			want[i] = append(want[i], env.EType)
			mu.Unlock()
			io.WriteString(w, `{"success":true}`)
		})
	}
	svc, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: "fake", Secret: "s",
		Replicas: []http.Handler{replica(0), replica(1)}, Balance: lctest.Random})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		second(svc.Install(t.Context(), org)),
		second(svc.Request(t.Context(), org, json.RawMessage(`{}`))),
		second(svc.Tick(t.Context(), org, "org_per_1h")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range []*fakeReplica{r1, r2} {
		if got, _ := r.received(); !slices.Equal(got, want[i]) {
			t.Errorf("replica %d received %q, want %q", i+1, got, want[i])
		}
	}
}

func second[T any](_ T, err error) error { return err }

// The balancer's replica forwards a webhook as sent — method, path and
// query of the replica's URL, body, signature, Content-Encoding — and
// passes the replica's answer back as it came: status, headers, body.
func TestReplicaProxyForwards(t *testing.T) {
	var plain bytes.Buffer
	zw := gzip.NewWriter(&plain)
	io.WriteString(zw, `{"etype":"request"}`)
	zw.Close()
	gzipped := plain.Bytes()
	sig := service.Sign([]byte("s"), []byte(`{"etype":"request"}`))

	var got struct {
		method, uri, sig, enc, ctype string
		body                         []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.uri = r.Method, r.RequestURI
		got.sig, got.enc, got.ctype = r.Header.Get(lctest.ExtensionSignatureHeader), r.Header.Get("Content-Encoding"), r.Header.Get("Content-Type")
		got.body, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Replica", "two")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":"busy","retriable":true}`)
	}))
	t.Cleanup(srv.Close)

	p := &replicaProxy{n: 2, url: srv.URL + "/hook?x=1", client: srv.Client()}
	req := httptest.NewRequest(http.MethodPost, "http://lctest.service/", bytes.NewReader(gzipped))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set(lctest.ExtensionSignatureHeader, sig)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)

	if got.method != http.MethodPost || got.uri != "/hook?x=1" || got.sig != sig || got.enc != "gzip" ||
		got.ctype != "application/json" || !bytes.Equal(got.body, gzipped) {
		t.Errorf("the replica got %s %s, signature %q, Content-Encoding %q, Content-Type %q, body %q",
			got.method, got.uri, got.sig, got.enc, got.ctype, got.body)
	}
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("X-Replica") != "two" ||
		rec.Body.String() != `{"error":"busy","retriable":true}` {
		t.Errorf("the balancer answered %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}

// A replica that is not listening, or breaks off its answer, is a 502
// naming the replica, never a panic or a 200.
func TestReplicaProxyFailures(t *testing.T) {
	halfAnswer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, `{"success":`)
		http.NewResponseController(w).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(halfAnswer.Close)
	for name, target := range map[string]string{"not listening": closedPort(t), "half an answer": halfAnswer.URL + "/"} {
		t.Run(name, func(t *testing.T) {
			p := &replicaProxy{n: 3, url: target, client: &http.Client{}}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://lctest.service/", strings.NewReader(`{}`)))
			want := "the load balancer got no answer from replica 3 at " + target + ": "
			if rec.Code != http.StatusBadGateway || !strings.HasPrefix(rec.Body.String(), want) {
				t.Errorf("answered %d %q, want 502 starting %q", rec.Code, rec.Body.String(), want)
			}
		})
	}
}
