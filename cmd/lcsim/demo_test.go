package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
)

// fleetPackages returns, for each of the first n fleet sensors, the
// packages lctest's built-in answer gives it, sorted by name as the
// survey's table is. lctest derives them from hostname and platform, so
// they are what the demo's sensors answer.
func fleetPackages(t *testing.T, n int) map[string][][2]string {
	t.Helper()
	cloud := lctest.New(t)
	org := cloud.NewOrg("reference")
	out := map[string][][2]string{}
	for _, cfg := range fleet(n) {
		s := org.AddSensor(cfg)
		for _, ev := range lctest.BuiltinAnswer(s, lctest.Command{Name: "os_packages", Line: "os_packages"}) {
			if ev.Type != "OS_PACKAGES_REP" {
				continue
			}
			raw, err := json.Marshal(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Packages []struct {
					Name    string `json:"PACKAGE_NAME"`
					Version string `json:"PACKAGE_VERSION"`
				} `json:"PACKAGES"`
			}
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Packages {
				out[cfg.Hostname] = append(out[cfg.Hostname], [2]string{p.Name, p.Version})
			}
			slices.SortFunc(out[cfg.Hostname], func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
		}
		if len(out[cfg.Hostname]) == 0 {
			t.Fatalf("%s: no packages in the built-in answer", cfg.Hostname)
		}
	}
	return out
}

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"demo", "-ttl", "1s", "-rows", "3", "--", packagesBinary(t)}, nil, &out, &errOut)
	text := out.String()
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\n%s", code, errOut.String(), text)
	}
	want := []string{
		`(?m)^service    \S+ \(pid \d+\) on http://127\.0\.0\.1:\d+/ \(SURVEY_TTL=1s: sensors get 1s to answer\)$`,
		`(?m)^registered: health answered, subscribes to __svc-package-survey-ex$`,
		`(?m)^rule stored: managed/svc-package-survey-ex \(enabled\)$`,
		`(?m)^  → task os_packages to db-1 \(linux\) — offline, it will not answer$`,
		`(?m)^job [0-9a-f-]{36}  db-1 \(linux\)  closed\n  cause: package survey requested\n  - asking the sensor for its installed packages\n  ! sensor [0-9a-f-]{36} did not answer within 1s; survey failed$`,
		`(?m)^the cloud saw: 4 tasks sent, 3 detections delivered to the service, \d+ webhooks answered \(1 health, 1 org_install, 4 request, 3 detection, \d+ org_per_1h\)$`,
	}
	total := 0
	for host, pkgs := range fleetPackages(t, 3) {
		total += len(pkgs)
		first := regexp.QuoteMeta(pkgs[0][0])
		if v := pkgs[0][1]; v != "" { // some Windows packages record no version
			first += " +" + regexp.QuoteMeta(v)
		}
		want = append(want,
			fmt.Sprintf(`(?m)^  ← OS_PACKAGES_REP from %s \(%d packages\)$`, host, len(pkgs)),
			fmt.Sprintf(`(?m)^  ✓ job [0-9a-f]{8} closed \(%s\)$`, host),
			fmt.Sprintf(`(?m)^job [0-9a-f-]{36}  %s \(\w+\)  closed\n  cause: package survey requested\n  - asking the sensor for its installed packages\n  - %s has %d packages\n      installed packages \(table, %d rows\)\n        package +version\n        %s$`,
				host, host, len(pkgs), len(pkgs), first),
			fmt.Sprintf(`(?m)^        … %d more rows?$`, len(pkgs)-3),
		)
	}
	want = append(want, fmt.Sprintf(`(?m)^summary: 4 sensors surveyed: 3 answered with %d packages in all, 1 timed out$`, total))
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(text) {
			t.Errorf("output does not match %s", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

func TestDemoQuiet(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"demo", "-quiet", "-sensors", "2", "-offline", "0", "-rows", "0", packagesBinary(t)}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\n%s", code, errOut.String(), out.String())
	}
	if strings.Contains(out.String(), "→ task") || strings.Contains(out.String(), "waiting") {
		t.Errorf("-quiet printed progress or waited for timeouts:\n%s", out.String())
	}
	if strings.Contains(out.String(), " more row") {
		t.Errorf("-rows 0 cut a table:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "summary: 2 sensors surveyed: 2 answered with ") {
		t.Errorf("no summary:\n%s", out.String())
	}
}

func TestDemoFlags(t *testing.T) {
	cases := []struct {
		args []string
		err  string
	}{
		{[]string{"-sensors", "0"}, "-sensors 0"},
		{[]string{"-sensors", "101"}, "-sensors 101"},
		{[]string{"-offline", "5"}, "-offline 5"},
		{[]string{"-offline", "-1"}, "-offline -1"},
		{[]string{"-rows", "-2"}, "-rows -2"},
		{[]string{"-ttl", "0s"}, "-ttl 0s"},
		{[]string{"-wait", "0s"}, "-wait 0s"},
		{[]string{"-grace", "-1s"}, "-grace -1s"},
		{[]string{"-name", ""}, "-name is empty"},
		{[]string{}, "no service to run: give its command after --"},
		{[]string{"--"}, "no service to run: give its command after --"},
		{[]string{"-bogus"}, "flag provided but not defined"},
		{[]string{"-protocol", "grpc"}, `"grpc": use service or extension`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(t.Context(), append([]string{"demo"}, c.args...), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.err) {
				t.Errorf("code %d, stderr: %s", code, errOut.String())
			}
		})
	}
}

func TestJudgeSurvey(t *testing.T) {
	table := json.RawMessage(`{"att_type":"table","caption":"installed packages","headers":["package","version"],"rows":[["bash","5.2"],["curl","8.5"]]}`)
	empty := json.RawMessage(`{"att_type":"table","caption":"installed packages","headers":["package","version"],"rows":[]}`)
	answered := jobs.Wire{ID: "j", End: 2, Hist: []jobs.WireEntry{{Msg: "web-1 has 2 packages", Attachments: []json.RawMessage{table}}}}
	timedOut := jobs.Wire{ID: "j", End: 2, Hist: []jobs.WireEntry{{Msg: "did not answer", Important: true}}}
	cases := []struct {
		name   string
		online bool
		job    jobs.Wire
		found  bool
		want   surveyOutcome
	}{
		{"answered", true, answered, true, surveyOutcome{packages: 2}},
		{"no job", true, jobs.Wire{}, false, surveyOutcome{failure: "the request got no job"}},
		{"never closed", true, jobs.Wire{ID: "j"}, true, surveyOutcome{failure: "its job was never closed"}},
		{"closed without a table", true, jobs.Wire{ID: "j", End: 2}, true, surveyOutcome{failure: "its job closed without a package table"}},
		{"empty table", true, jobs.Wire{ID: "j", End: 2, Hist: []jobs.WireEntry{{Attachments: []json.RawMessage{empty}}}}, true, surveyOutcome{failure: "its job closed without a package table"}},
		{"online sensor timed out", true, timedOut, true, surveyOutcome{failure: "its job closed without a package table"}},
		{"offline timed out", false, timedOut, true, surveyOutcome{timedOut: true}},
		{"offline still open", false, jobs.Wire{ID: "j"}, true, surveyOutcome{failure: "offline, but its job did not end in a timeout"}},
		{"offline but answered", false, answered, true, surveyOutcome{failure: "offline, but its job did not end in a timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := judgeSurvey(c.online, c.job, c.found); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestFleet(t *testing.T) {
	got := fleet(7)
	want := []struct {
		host string
		plat lctest.Platform
	}{
		{"web-1", lctest.Linux}, {"win-desk-1", lctest.Windows}, {"mac-dev-1", lctest.MacOS},
		{"db-1", lctest.Linux}, {"win-fin-1", lctest.Windows}, {"mac-design-1", lctest.MacOS},
		{"ci-1", lctest.Linux},
	}
	if len(got) != len(want) {
		t.Fatalf("fleet(7) has %d sensors", len(got))
	}
	for i, w := range want {
		if got[i].Hostname != w.host || got[i].Platform != w.plat {
			t.Errorf("sensor %d = %s %s, want %s %s", i+1, got[i].Hostname, got[i].Platform, w.host, w.plat)
		}
		if got[i].Latency < time.Millisecond {
			t.Errorf("sensor %d answers after %s: its answer's job entry can share a millisecond with the entry before the task", i+1, got[i].Latency)
		}
	}
	if h := fleet(10)[9].Hostname; h != "web-2" {
		t.Errorf("the tenth sensor is %s, want web-2 (names cycle with a new number)", h)
	}
	if len(fleet(0)) != 0 || len(fleet(-1)) != 0 {
		t.Error("fleet of no sensors is not empty")
	}
}

// fakeDemo runs the demo with the test binary as a service misbehaving as
// mode says (see fakeService). It returns the exit code, the output and
// the file the fake services wrote their process ids to.
func fakeDemo(t *testing.T, mode string, args ...string) (code int, stdout, stderr, pids string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pids = filepath.Join(t.TempDir(), "pids")
	t.Setenv(fakeServiceEnv, mode)
	t.Setenv(fakePIDsEnv, pids)
	args = append(append([]string{"demo", "-sensors", "1", "-offline", "0"}, args...), "--", self)
	code, stdout, stderr = runBounded(t, 30*time.Second, args...)
	return code, stdout, stderr, pids
}

func TestDemoServiceExitsAtStart(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprint("verbose=", verbose), func(t *testing.T) {
			var args []string
			if verbose {
				args = append(args, "-v")
			}
			code, _, stderr, _ := fakeDemo(t, "exit", args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			re := regexp.MustCompile(`lcsim demo: \S+ exited before answering GET http://127\.0\.0\.1:\d+/healthz: exit status 3; its last output:\nfake service: giving up at once\n`)
			if !re.MatchString(stderr) {
				t.Errorf("stderr does not match %s:\n%s", re, stderr)
			}
			// -v copies the service's output as it comes; without it, only
			// the report shows it.
			want := 1
			if verbose {
				want = 2
			}
			if n := strings.Count(stderr, "fake service: giving up at once"); n != want {
				t.Errorf("the service's line is on stderr %d times, want %d:\n%s", n, want, stderr)
			}
		})
	}
}

func TestDemoServiceNeverListens(t *testing.T) {
	code, _, stderr, _ := fakeDemo(t, "sleep", "-wait", "1s", "-grace", "1s")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	re := regexp.MustCompile(`lcsim demo: no answer from http://127\.0\.0\.1:\d+/healthz within 1s: is \S+ a service that listens on \$PORT\? \(last error: .*connection refused\)`)
	if !re.MatchString(stderr) {
		t.Errorf("stderr does not match %s:\n%s", re, stderr)
	}
}

func TestDemoServiceRefusesSignature(t *testing.T) {
	code, _, stderr, _ := fakeDemo(t, "unauthorized")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if want := "lcsim demo: the service refused the signature (HTTP 401): it must verify webhooks with the secret lcsim passes in LC_SHARED_SECRET\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

func TestDemoExtension(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"demo", "-protocol", "extension", "-ttl", "1s", "-rows", "3", "--", packagesBinary(t)}, nil, &out, &errOut)
	text := out.String()
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\n%s", code, errOut.String(), text)
	}
	for _, w := range []string{
		`(?m)^registered as an extension: heartbeat answered; actions __lcsvc_reply, __lcsvc_timeout, request; events subscribe, unsubscribe, update$`,
		`(?m)^rule stored: managed/svc-package-survey-ex \(enabled\)$`,
		`"action": "extension request"`,
		`(?m)^  ← OS_PACKAGES_REP from web-1 \(\d+ packages\)$`,
		`(?m)^== firing the timeout continuations`,
		`(?m)^  ✓ job [0-9a-f]{8} closed \(db-1\)$`,
		`(?m)^summary: 4 sensors surveyed: 3 answered with \d+ packages in all, 1 timed out$`,
	} {
		if !regexp.MustCompile(w).MatchString(text) {
			t.Errorf("output does not match %s", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}
