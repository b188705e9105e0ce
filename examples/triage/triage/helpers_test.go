package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/triage/triage"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

const secret = "triage-test-secret"

// instance is one service process.
type instance struct {
	is     *interactive.Service
	cached func() int            // jobs with rows in the row cache
	clock  *tracking.ManualClock // timeouts fire when the test advances it
}

func newInstance(t *testing.T, cloud *lctest.Cloud, ttl time.Duration) instance {
	t.Helper()
	clock := tracking.NewManualClock(time.Now())
	is, cached, err := triage.NewForTest(secret, triage.Options{
		TTL: ttl,
		Interactive: []interactive.Option{
			interactive.WithAPIURL(cloud.URL()),
			interactive.WithClock(clock),
			interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = is.Shutdown(context.Background()) })
	return instance{is: is, cached: cached, clock: clock}
}

// world is an emulated cloud with one org and the triage service registered.
type world struct {
	cloud *lctest.Cloud
	org   *lctest.Org
	svc   *lctest.Service
	instance
}

type worldConfig struct {
	ttl       time.Duration // default one minute
	noInstall bool
	cloud     []lctest.Option
}

func newWorld(t *testing.T, cfg worldConfig) *world {
	t.Helper()
	if cfg.ttl == 0 {
		cfg.ttl = time.Minute
	}
	cloud := lctest.New(t, cfg.cloud...)
	inst := newInstance(t, cloud, cfg.ttl)
	svc, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: triage.Name, Secret: secret, Handler: inst.is})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cloud: cloud, org: cloud.NewOrg("acme"), svc: svc, instance: inst}
	if !cfg.noInstall {
		if res, err := svc.Install(t.Context(), w.org); err != nil || !res.Success {
			t.Fatalf("install: %+v %v", res, err)
		}
	}
	return w
}

// detect delivers the detection that starts a triage of s, shaped as a D&R
// report action makes it, and returns the id of the job its response opens.
func (w *world) detect(t *testing.T, s *lctest.Sensor) string {
	t.Helper()
	routing := lctest.Routing{
		OID: w.org.OID, SID: s.SID, Hostname: s.Hostname(), EventType: "NEW_PROCESS",
		EventTime: time.Now().UnixMilli(), EventID: "ev-1", Plat: s.Platform(), Arch: s.Arch(), Tags: []string{},
	}
	d := lctest.Detection{
		Cat: triage.DefaultDetection, Source: "dr-general", SourceRule: "exec-from-user-dirs", Namespace: "general",
		DetectID: "d-1", Routing: routing, GenTime: time.Now().UnixMilli(),
		Detect: map[string]any{"FILE_PATH": "x", "PROCESS_ID": 1},
	}
	res, err := w.svc.Deliver(t.Context(), "detection", w.org, d)
	if err != nil || !res.Success || len(res.Jobs) != 1 {
		t.Fatalf("detection: %+v %v", res, err)
	}
	if want := "triage of " + triage.DefaultDetection + " on " + s.Hostname(); res.Jobs[0].Cause != want {
		t.Errorf("cause %q, want %q", res.Jobs[0].Cause, want)
	}
	return res.Jobs[0].ID
}

func (w *world) waitIdle(t *testing.T) {
	t.Helper()
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (w *world) job(t *testing.T, id string) lctest.Job {
	t.Helper()
	j, ok := w.svc.Job(id)
	if !ok {
		t.Fatalf("job %s never seen", id)
	}
	return j
}

// flush moves the service's clock past every TTL, so pending tasks time
// out, then sends an hourly tick: a timeout's job update rides the next
// response to the organization.
func (w *world) flush(t *testing.T, id string) lctest.Job {
	t.Helper()
	w.clock.Advance(time.Hour) // returns once the timeouts have run
	if _, err := w.svc.Tick(t.Context(), w.org, "org_per_1h"); err != nil {
		t.Fatal(err)
	}
	j := w.job(t, id)
	if j.End == 0 {
		t.Fatalf("the job was not closed by its timeout:\n%s", history(j))
	}
	return j
}

// commands returns the command lines tasked in org, in order.
func commands(org *lctest.Org) []string {
	var out []string
	for _, task := range org.Tasks() {
		out = append(out, task.Commands...)
	}
	return out
}

// proc is one process a fake sensor reports.
type proc struct {
	PID  int64  `json:"PROCESS_ID"`
	Path string `json:"FILE_PATH"`
}

// processesOf returns what s answers os_processes with (built-in or scripted).
func processesOf(t *testing.T, events []lctest.Event) []proc {
	t.Helper()
	for _, e := range events {
		if e.Type != "OS_PROCESSES_REP" {
			continue
		}
		var rep struct {
			Processes []proc `json:"PROCESSES"`
		}
		b, _ := json.Marshal(e.Payload)
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Processes
	}
	t.Fatalf("no OS_PROCESSES_REP in %+v", events)
	return nil
}

// builtinHash returns the sha256 and signer the fake sensor reports for path.
func builtinHash(t *testing.T, s *lctest.Sensor, path string) (string, string) {
	t.Helper()
	evs := lctest.BuiltinAnswer(s, lctest.Command{Name: "file_hash", Args: []string{path}, Line: interactive.CommandLine("file_hash", path)})
	if len(evs) != 1 || evs[0].Type != "FILE_HASH_REP" {
		t.Fatalf("built-in file_hash of %s: %+v", path, evs)
	}
	signer := "unsigned"
	if evs[0].Payload["FILE_IS_SIGNED"] == 1 {
		signer = "signed"
	}
	return evs[0].Payload["HASH"].(string), signer
}

// table is a decoded table attachment.
type table struct {
	Type    string   `json:"att_type"`
	Caption string   `json:"caption"`
	Headers []string `json:"headers"`
	Rows    [][]any  `json:"rows"`
}

func tablesOf(t *testing.T, e lctest.JobEntry) []table {
	t.Helper()
	var out []table
	for _, raw := range e.Attachments {
		var tb table
		if err := json.Unmarshal(raw, &tb); err != nil {
			t.Fatal(err)
		}
		out = append(out, tb)
	}
	return out
}

// entry returns the only history entry whose message starts with prefix.
func entry(t *testing.T, j lctest.Job, prefix string) lctest.JobEntry {
	t.Helper()
	var found []lctest.JobEntry
	for _, e := range j.Hist {
		if strings.HasPrefix(e.Msg, prefix) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d entries start with %q; history:\n%s", len(found), prefix, history(j))
	}
	return found[0]
}

func history(j lctest.Job) string {
	var b strings.Builder
	for _, e := range j.Hist {
		fmt.Fprintf(&b, "  %s (%d attachments)\n", e.Msg, len(e.Attachments))
	}
	return b.String()
}

// sameRows compares table rows as JSON, so numbers compare whatever their Go type.
func sameRows(t *testing.T, what string, got [][]any, want [][]any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s rows\n got %s\nwant %s", what, g, w)
	}
}

// gate makes s's answer to the nth file_hash wait until released, so a test
// can act between two steps. reached is closed when that answer starts.
func gate(t *testing.T, s *lctest.Sensor, nth int32) (reached <-chan struct{}, release func()) {
	t.Helper()
	var calls sync.Mutex
	n := int32(0)
	r := make(chan struct{})
	rel := make(chan struct{})
	release = sync.OnceFunc(func() { close(rel) })
	// Registered after the world's cleanups, so it runs first: a failing
	// test never leaves the cloud waiting on this answer.
	t.Cleanup(release)
	s.Answer("file_hash", func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
		calls.Lock()
		n++
		hit := n == nth
		calls.Unlock()
		if hit {
			close(r)
			<-rel
		}
		return lctest.BuiltinAnswer(s, cmd)
	})
	return r, release
}

// await waits for ch with a deadline.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
