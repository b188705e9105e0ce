package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const emulateSecret = "emulate-test-secret"

// wait bounds every wait of these tests; they normally take milliseconds.
const wait = 10 * time.Second

// emulation is `lcsim emulate` running on its own goroutine, with the
// examples/packages binary as the service it drives by URL.
type emulation struct {
	out    *transcript
	stderr *bytes.Buffer
	code   chan int
	cancel context.CancelFunc
	url    string // the service's webhook URL
}

// startEmulation runs emulate with args plus -service and -secret. The
// service's URL must be in the arguments before the service can start: it
// needs LC_API_URL, which emulate prints once the cloud is up. So the test
// picks the service's port first, reads LC_API_URL from emulate's output,
// then starts the service; emulate keeps trying health until it answers.
func startEmulation(t *testing.T, args ...string) *emulation {
	t.Helper()
	bin := packagesBinary(t)
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	e := &emulation{out: newTranscript(pr), stderr: &bytes.Buffer{}, code: make(chan int, 1), cancel: cancel,
		url: "http://127.0.0.1:" + port + "/"}
	args = append([]string{"emulate", "-service", e.url, "-secret", emulateSecret, "-name", "package-survey"}, args...)
	go func() {
		e.code <- run(ctx, args, nil, pw, e.stderr)
		pw.Close()
	}()

	apiURL := strings.TrimPrefix(e.out.waitFor(t, "export LC_API_URL=", wait), "export LC_API_URL=")
	proto := "service"
	if slices.Contains(args, "extension") {
		proto = "extension"
	}
	svc, err := startChild([]string{bin}, []string{"PORT=" + port, "LC_SHARED_SECRET=" + emulateSecret, "LC_API_URL=" + apiURL, "LC_PROTOCOL=" + proto, "LC_DRAIN_DELAY=0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.stop(wait)
		if t.Failed() {
			t.Logf("service output:\n%s", svc.tail.String())
		}
	})
	return e
}

// exit waits for emulate to return and for its output to end.
func (e *emulation) exit(t *testing.T) (int, string) {
	t.Helper()
	select {
	case code := <-e.code:
		<-e.out.done
		return code, e.out.text()
	case <-time.After(wait):
		t.Fatalf("emulate did not return within %s:\n%s", wait, e.out.text())
	}
	return 0, ""
}

func TestEmulateActions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want []string // regexps the output must match
	}{
		{
			name: "survey of sensor 1",
			args: []string{"-install", "-request", "{}", "-request-sensor", "1"},
			want: []string{
				`(?m)^== request \{"sid":"[0-9a-f-]{36}"\}$`,
				`(?m)^→ task os_packages to web-1 \(linux\)$`,
				`(?m)^✓ job [0-9a-f]{8} closed \(web-1\)$`,
				`(?m)^exchanges \(3\):\n  org_install  success\n  request      success\n  detection    success$`,
				`(?m)^job [0-9a-f-]{36}  web-1 \(linux\)  closed\n  cause: package survey requested\n  - asking the sensor for its installed packages\n  - web-1 has \d+ packages\n      installed packages \(table, \d+ rows\)\n        package +version$`,
			},
		},
		{
			name: "sid given in the JSON wins",
			args: []string{"-install", "-request", `{"sid":"00000000-0000-0000-0000-000000000000"}`, "-request-sensor", "2", "-quiet"},
			code: 1, // no such sensor: the service cannot task it
			want: []string{`(?m)^== request \{"sid":"00000000-0000-0000-0000-000000000000"\}$`, `(?m)^  request +failed: `},
		},
		{
			name: "refused request exits 1",
			args: []string{"-install", "-request", "{}"},
			code: 1,
			want: []string{`(?m)^  request +failed: missing parameter sid$`, `(?m)^jobs: none$`},
		},
		{
			name: "tick",
			args: []string{"-install", "-tick", "org_per_1h", "-quiet"},
			want: []string{`(?m)^exchanges \(2\):\n  org_install +success\n  org_per_1h +success$`},
		},
		{
			name: "survey over extensions",
			args: []string{"-protocol", "extension", "-install", "-request", "{}", "-request-sensor", "1"},
			want: []string{
				`(?m)^extension "package-survey" at \S+ answered heartbeat and schema_request: actions __lcsvc_reply, __lcsvc_timeout, request; events subscribe, unsubscribe, update$`,
				`(?m)^→ task os_packages to web-1 \(linux\)$`,
				`(?m)^✓ job [0-9a-f]{8} closed \(web-1\)$`,
				`(?m)^exchanges \(3\):\n  event subscribe +success\n  request request +success\n  request __lcsvc_reply +success$`,
			},
		},
		{
			name: "schedule over extensions",
			args: []string{"-protocol", "extension", "-install", "-tick", "org_per_12h", "-quiet"},
			want: []string{`(?m)^== 12h_per_org$`, `(?m)^exchanges \(1\):\n  event subscribe +success$`},
		},
		{
			name: "unimplemented tick exits 1",
			args: []string{"-install", "-tick", "sensor_per_1h", "-sensors", "1", "-quiet"},
			code: 1,
			want: []string{`(?m)^== sensor_per_1h web-1$`, `(?m)^  sensor_per_1h +failed: not implemented$`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startEmulation(t, append([]string{"-exit"}, c.args...)...)
			code, out := e.exit(t)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, c.code, e.stderr)
			}
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("output does not match %s", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestEmulateByHand is the README's flow: emulate keeps serving, the
// service runs against it, and `lcsim send` asks for a survey.
func TestEmulateByHand(t *testing.T) {
	e := startEmulation(t, "-install", "-sensors", "2")
	oid := strings.TrimPrefix(e.out.waitFor(t, "export LC_OID=", wait), "export LC_OID=")
	jwt := strings.TrimPrefix(e.out.waitFor(t, "export LC_JWT=", wait), "export LC_JWT=")
	sensor := strings.Fields(e.out.waitFor(t, "#   2  ", wait))
	if len(sensor) != 5 || sensor[3] != "win-desk-1" || sensor[4] != "windows" {
		t.Fatalf("sensor line = %q", sensor)
	}
	e.out.waitFor(t, "# serving until interrupted", wait)

	var sent, sendErr bytes.Buffer
	code := run(t.Context(), []string{"send", "-secret", emulateSecret, "-oid", oid, "-jwt", jwt,
		"-data", `{"sid":"` + sensor[2] + `"}`, e.url, "request"}, nil, &sent, &sendErr)
	if code != 0 {
		t.Fatalf("send: %d %s %s", code, sent.String(), sendErr.String())
	}
	var resp struct {
		Data struct {
			JobID string `json:"job_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(sent.Bytes(), &resp); err != nil || resp.Data.JobID == "" {
		t.Fatalf("send printed %s (%v)", sent.String(), err)
	}
	e.out.waitFor(t, "✓ job "+shortID(resp.Data.JobID)+" closed (win-desk-1)", wait)

	e.cancel()
	code, out := e.exit(t)
	if code != 0 || !strings.Contains(out, "# interrupted: stopping the emulated cloud") {
		t.Errorf("after interrupt: code %d\n%s", code, out)
	}
	if !strings.Contains(out, "  job "+shortID(resp.Data.JobID)+" · win-desk-1 has ") {
		t.Errorf("the job's entry was not shown as it arrived:\n%s", out)
	}
}

// runBounded runs lcsim with args and fails the test if it has not
// returned within limit: the command must not wait forever.
func runBounded(t *testing.T, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, nil, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(limit):
		cancel()
		<-done
		t.Fatalf("lcsim %s still waiting after %s:\n%s\n%s", args[0], limit, out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	return url
}

// A service that never starts: emulate gives up after -wait, with or
// without -exit, exits 1 and says what to check.
func TestEmulateGivesUpWaitingForHealth(t *testing.T) {
	url := closedPort(t)
	for _, mode := range []string{"-exit", "-quiet"} {
		t.Run(mode, func(t *testing.T) {
			code, out, errOut := runBounded(t, 15*time.Second, "emulate", mode, "-install", "-wait", "1200ms", "-service", url, "-secret", "s")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if want := "lcsim emulate: no answer from " + url + " within 1.2s: is the service running?"; !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
			// One line per distinct failure, however many attempts.
			if n := strings.Count(out, "# not yet"); n != 1 {
				t.Errorf("%d 'not yet' lines:\n%s", n, out)
			}
		})
	}
}

// A service that refuses the signature (another secret) will not accept
// one later: emulate says so at once and exits 1, with or without -exit.
func TestEmulateRefusedSignature(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid signature"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/"
	for _, mode := range []string{"-exit", "-quiet"} {
		t.Run(mode, func(t *testing.T) {
			start := time.Now()
			code, out, errOut := runBounded(t, 15*time.Second, "emulate", mode, "-install", "-service", url, "-secret", "wrong")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if want := "lcsim emulate: the service at " + url + " refused the signature (HTTP 401): check that LC_SHARED_SECRET"; !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s to give up on a refused signature", d)
			}
			if strings.Contains(out, "# not yet") {
				t.Errorf("kept trying after a refused signature:\n%s", out)
			}
		})
	}
}

func TestEmulateFlags(t *testing.T) {
	const svc = "http://127.0.0.1:1/"
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"cloud only", []string{"-exit", "-sensors", "4"}, 0, "#   4  ", ""},
		{"no sensors", []string{"-sensors", "0"}, 2, "", "between 1 and 1000"},
		{"negative rows", []string{"-rows", "-1"}, 2, "", "-rows -1"},
		{"no wait", []string{"-wait", "0s"}, 2, "", "-wait 0s"},
		{"action without service", []string{"-install"}, 2, "", "give its webhook URL with -service"},
		{"not a URL", []string{"-service", "ftp://x", "-secret", "s"}, 2, "", "http(s) URL"},
		{"no secret", []string{"-service", svc, "-install"}, 2, "", "no shared secret"},
		{"empty name", []string{"-service", svc, "-secret", "s", "-name", ""}, 2, "", "-name is empty"},
		{"request needs install", []string{"-service", svc, "-secret", "s", "-request", "{}"}, 2, "", "needs -install"},
		{"request not an object", []string{"-service", svc, "-secret", "s", "-install", "-request", "[1]"}, 2, "", "one JSON object"},
		{"request trailing data", []string{"-service", svc, "-secret", "s", "-install", "-request", "{} {}"}, 2, "", "one JSON object"},
		{"sensor out of range", []string{"-service", svc, "-secret", "s", "-install", "-request", "{}", "-request-sensor", "4"}, 2, "", "from 1 to 3"},
		{"no once_per for extensions", []string{"-service", svc, "-secret", "s", "-protocol", "extension", "-tick", "once_per_1h"}, 2, "", "no counterpart for an extension"},
		{"no 30d for extensions", []string{"-service", svc, "-secret", "s", "-protocol", "extension", "-install", "-tick", "org_per_30d"}, 2, "", "no counterpart for an extension"},
		{"bad protocol", []string{"-protocol", "x"}, 2, "", "use service or extension"},
		{"sensor without request", []string{"-service", svc, "-secret", "s", "-request-sensor", "1"}, 2, "", "without -request"},
		{"bad tick", []string{"-service", svc, "-secret", "s", "-install", "-tick", "org_per_2h"}, 2, "", "scheduled etype"},
		{"not a tick", []string{"-service", svc, "-secret", "s", "-install", "-tick", "request"}, 2, "", "scheduled etype"},
		{"tick needs install", []string{"-service", svc, "-secret", "s", "-tick", "org_per_1h"}, 2, "", "add -install"},
		{"argument", []string{"extra"}, 2, "", `unexpected argument "extra"`},
		{"unknown flag", []string{"-bogus"}, 2, "", "flag provided but not defined: -bogus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LC_SHARED_SECRET", "")
			var out, errOut bytes.Buffer
			code := run(t.Context(), append([]string{"emulate"}, c.args...), nil, &out, &errOut)
			if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.err) {
				t.Errorf("code %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
		})
	}
}

func TestEmulateListensOnAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"emulate", "-addr", addr, "-exit"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "export LC_API_URL=http://"+addr+"\n") {
		t.Errorf("LC_API_URL not on %s:\n%s", addr, out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"emulate", "-addr", "127.0.0.1:-1", "-exit"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "-addr 127.0.0.1:-1") {
		t.Errorf("bad -addr: exit %d: %s", code, errOut.String())
	}
}

// answeringService answers health with success and every other webhook with
// answer, without checking signatures.
func answeringService(t *testing.T, answer string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			EType string `json:"etype"`
		}
		_ = json.NewDecoder(r.Body).Decode(&env)
		w.Header().Set("Content-Type", "application/json")
		if env.EType == "health" {
			io.WriteString(w, `{"success":true}`)
			return
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// A response can succeed and still carry an error (the service installed,
// but could not store its rule): emulate shows the error, as it happens
// and in the list of exchanges.
func TestEmulateShowsErrorOfSuccess(t *testing.T) {
	const msg = "installing D&R rule svc-fake-ex (the service needs dr.set.managed): forbidden"
	url := answeringService(t, `{"success":true,"error":"`+msg+`"}`)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"emulate", "-exit", "-install", "-service", url, "-secret", "s"}, nil, &out, &errOut)
	if code != 0 {
		t.Errorf("exit code %d, want 0 (the service answered success); stderr: %s", code, errOut.String())
	}
	for _, want := range []string{
		"! org_install answered: success, with an error: " + msg + "\n",
		"  org_install  success, with an error: " + msg + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}
