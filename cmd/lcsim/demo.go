package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// demoSettle bounds each wait of the demo beyond the survey TTL: for the
// cloud to settle, and for the offline sensors' timeouts to be reported.
const demoSettle = 30 * time.Second

// demoConfig is what `lcsim demo` was asked to do.
type demoConfig struct {
	sensors, offline int
	rows             int
	ttl              time.Duration
	quiet            bool
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c demoConfig
	fs.IntVar(&c.sensors, "sensors", 4, "number of fake sensors (Linux, Windows and macOS in turn)")
	fs.IntVar(&c.offline, "offline", 1, "how many of them (the last ones) are offline, to show the timeout path")
	fs.IntVar(&c.rows, "rows", 8, "table rows shown per job (0: all)")
	fs.DurationVar(&c.ttl, "ttl", 2*time.Second, "how long a sensor has to answer before its survey times out")
	fs.BoolVar(&c.quiet, "quiet", false, "do not print progress as answers arrive")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: lcsim demo [flags]

Runs the package-survey example (examples/packages) on a loopback HTTP port
against the emulated LimaCharlie cloud: installs it in an organization,
asks it to survey every sensor, shows the answers as they arrive, then each
job's narrative and package table, a summary and the interactive layer's
counters. Exits 1 if a survey that should have succeeded did not.

flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return usageExit(err)
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "lcsim demo:", err)
		return 2
	}
	if err := demo(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "lcsim demo:", err)
		return 1
	}
	return 0
}

func (c *demoConfig) check() error {
	switch {
	case c.sensors < 1 || c.sensors > 100:
		return fmt.Errorf("-sensors %d: give between 1 and 100", c.sensors)
	case c.offline < 0 || c.offline > c.sensors:
		return fmt.Errorf("-offline %d: give between 0 and -sensors (%d)", c.offline, c.sensors)
	case c.rows < 0:
		return fmt.Errorf("-rows %d: give 0 (all) or more", c.rows)
	case c.ttl <= 0:
		return fmt.Errorf("-ttl %s: give a positive duration, e.g. 2s", c.ttl)
	}
	return nil
}

// demoRun is one run of the demo: the cloud, the service and the jobs.
type demoRun struct {
	cfg     demoConfig
	out     *console
	book    *sensorBook
	cloud   *lctest.Cloud
	org     *lctest.Org
	is      *interactive.Service
	svc     *lctest.Service
	sensors []*lctest.Sensor
	jobIDs  map[string]string // sid → id of the job surveying it
}

// demo runs the whole demo; the error says which survey went wrong.
func demo(ctx context.Context, c demoConfig, stdout, stderr io.Writer) error {
	d := &demoRun{cfg: c, out: &console{w: stdout}, book: newSensorBook(), jobIDs: map[string]string{}}
	d.cloud = lctest.NewCloud(lctest.WithObserver(newNarrator(d.out, d.book, false, c.quiet, "  ", c.rows).observe))
	defer d.cloud.Close()

	// The service, as examples/packages builds it, on a real loopback server.
	secret := rand.Text()
	is, err := survey.New(secret, survey.Options{
		TTL:         c.ttl,
		Service:     []service.Option{service.WithLogOutput(io.Discard, stderr)},
		Interactive: []interactive.Option{interactive.WithClient(tasking.NewClient(tasking.WithBaseURL(d.cloud.URL())))},
	})
	if err != nil {
		return fmt.Errorf("building the survey service: %w", err)
	}
	d.is = is
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening on loopback: %w", err)
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- service.Serve(serveCtx, is.Base(), ln) }()
	defer func() {
		d.cloud.Close() // no webhook in flight while the server drains
		stopServing()
		<-served
	}()
	serviceURL := "http://" + ln.Addr().String() + "/"

	d.org = d.cloud.NewOrg("demo")
	for i, cfg := range fleet(c.sensors) {
		cfg.Offline = i >= c.sensors-c.offline
		s := d.org.AddSensor(cfg)
		d.book.add(s)
		d.sensors = append(d.sensors, s)
	}
	d.printSetup(serviceURL)

	d.svc, err = d.cloud.Register(ctx, lctest.ServiceConfig{Name: survey.Name, Secret: secret, URL: serviceURL})
	if err != nil {
		return err
	}
	d.out.printf("registered: health answered, subscribes to %s\n", listOrNone(d.svc.Subscriptions()))
	if err := d.install(ctx); err != nil {
		return err
	}
	if err := d.surveyAll(ctx); err != nil {
		return err
	}
	if err := d.flushTimeouts(ctx); err != nil {
		return err
	}
	return d.report()
}

func (d *demoRun) printSetup(serviceURL string) {
	var b strings.Builder
	fmt.Fprintf(&b, "lcsim demo: the package-survey service against an emulated LimaCharlie cloud\n\n")
	fmt.Fprintf(&b, "cloud API  %s\n", d.cloud.URL())
	fmt.Fprintf(&b, "service    %s at %s (sensors get %s to answer)\n", survey.Name, serviceURL, d.cfg.ttl)
	fmt.Fprintf(&b, "org        %s (%s)\n", d.org.Name, d.org.OID)
	fmt.Fprintf(&b, "sensors:\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, s := range d.sensors {
		state := "online"
		if !s.Online() {
			state = "offline"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Hostname(), s.Platform(), state, s.SID)
	}
	tw.Flush()
	d.out.write(b.String())
}

// install sends org_install and shows the rule the service stored.
func (d *demoRun) install(ctx context.Context) error {
	d.out.printf("\n== installing the service in %q\n", d.org.Name)
	resp, err := d.svc.Install(ctx, d.org)
	if err != nil {
		return err
	}
	if !resp.Success {
		return fmt.Errorf("org_install failed: %s", resp.Error)
	}
	if resp.Error != "" {
		d.out.printf("the service answered success, with an error: %s\n", resp.Error)
	}
	rules := d.org.Rules()
	if len(rules) == 0 {
		return errors.New("org_install succeeded but the service stored no D&R rule")
	}
	var b strings.Builder
	for _, r := range rules {
		state := "enabled"
		if !r.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(&b, "rule stored: %s/%s (%s)\n", r.Namespace, r.Name, state)
		fmt.Fprintf(&b, "  detect:  %s\n", indentJSON(r.Detect, "  "))
		fmt.Fprintf(&b, "  respond: %s\n", indentJSON(r.Respond, "  "))
	}
	d.out.write(b.String())
	return nil
}

// surveyAll sends one request per sensor and lets each survey finish
// before the next, so the progress lines read in order. A refused request
// is reported by report, as its sensor has no job.
func (d *demoRun) surveyAll(ctx context.Context) error {
	d.out.printf("\n== asking for a package survey of each sensor, one request each\n")
	for _, s := range d.sensors {
		d.out.printf("request: survey %s\n", d.book.label(s.SID))
		resp, err := d.svc.Request(ctx, d.org, map[string]any{"sid": s.SID})
		switch {
		case err != nil:
			d.out.printf("  ✗ %v\n", err)
		case !resp.Success || len(resp.Jobs) == 0:
			d.out.printf("  ✗ refused: %s\n", resp.Error)
		default:
			d.jobIDs[s.SID] = resp.Jobs[0].ID
		}
		if err := d.settle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until every answer has been delivered and handled.
func (d *demoRun) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, demoSettle)
	defer cancel()
	if err := d.cloud.WaitIdle(ctx); err != nil {
		return fmt.Errorf("the cloud did not settle: %w", err)
	}
	return nil
}

// flushTimeouts waits for the offline sensors' surveys to time out, then
// sends the hourly tick: a timeout has no webhook of its own to answer, so
// its job update rides the next response to the organization.
func (d *demoRun) flushTimeouts(ctx context.Context) error {
	var waiting []string
	for _, s := range d.sensors {
		if id, ok := d.jobIDs[s.SID]; ok && !s.Online() {
			waiting = append(waiting, id)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	d.out.printf("\n== waiting %s for %s to time out\n", d.cfg.ttl, plural(len(waiting), "offline sensor"))
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ttl+demoSettle)
	defer cancel()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for d.is.Stats().TimedOut < int64(len(waiting)) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d surveys of offline sensors never timed out", int64(len(waiting))-d.is.Stats().TimedOut, len(waiting))
		case <-poll.C:
		}
	}
	d.out.printf("== org_per_1h tick: carries the timed-out jobs' updates (and re-stores the rule)\n")
	// The timeout handler queues its update just after the counter moves,
	// so a tick can come too early by a hair: tick until the jobs close.
	for {
		if _, err := d.svc.Tick(ctx, d.org, "org_per_1h"); err != nil {
			return err
		}
		if err := d.cloud.WaitIdle(ctx); err != nil {
			return err
		}
		if d.allClosed(waiting) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the timed-out surveys' jobs were never closed")
		case <-poll.C:
		}
	}
}

func (d *demoRun) allClosed(ids []string) bool {
	for _, id := range ids {
		if j, ok := d.svc.Job(id); !ok || j.End == 0 {
			return false
		}
	}
	return true
}

// report prints each job, the summary and the counters, and says which
// surveys did not go as they should.
func (d *demoRun) report() error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== jobs\n")
	var failed []string
	answered, packages, timedOut := 0, 0, 0
	for _, s := range d.sensors {
		var j jobs.Wire
		id, found := d.jobIDs[s.SID]
		if found {
			j, found = d.svc.Job(id)
		}
		if found {
			renderJob(&b, j, d.book, d.cfg.rows)
			b.WriteByte('\n')
		}
		o := judgeSurvey(s.Online(), j, found)
		switch {
		case o.failure != "":
			failed = append(failed, s.Hostname()+": "+o.failure)
		case o.timedOut:
			timedOut++
		default:
			answered++
			packages += o.packages
		}
	}
	fmt.Fprintf(&b, "summary: %s surveyed: %d answered with %s in all, %d timed out",
		plural(len(d.sensors), "sensor"), answered, plural(packages, "package"), timedOut)
	if len(failed) > 0 {
		fmt.Fprintf(&b, ", %d failed", len(failed))
	}
	b.WriteByte('\n')
	st := d.is.Stats()
	fmt.Fprintf(&b, "interactive stats: tasked %d, task errors %d, routed to closures %d, to named handlers %d, orphans %d, refused %d, expired %d, timed out %d, evicted %d, rule errors %d; still pending %d\n",
		st.Tasked, st.TaskErrors, st.RoutedClosure, st.RoutedNamed, st.Orphans, st.Refused, st.Expired, st.TimedOut, st.Evicted, st.RuleErrors, st.Pending.Pending)
	d.out.write(b.String())
	if len(failed) > 0 {
		return fmt.Errorf("%s went wrong: %s", plural(len(failed), "survey"), strings.Join(failed, "; "))
	}
	return nil
}

// surveyOutcome is how one sensor's survey ended: answered with a number
// of packages, timed out, or a failure saying what went wrong.
type surveyOutcome struct {
	packages int
	timedOut bool
	failure  string
}

// judgeSurvey says whether a survey went as it should: an online sensor's
// job closes with a package table, an offline sensor's closes on an
// important timeout entry. found is false when the sensor has no job.
func judgeSurvey(online bool, j jobs.Wire, found bool) surveyOutcome {
	tables := jobTables(j)
	switch {
	case !found:
		return surveyOutcome{failure: "the request got no job"}
	case !online && j.End != 0 && hasImportant(j):
		return surveyOutcome{timedOut: true}
	case !online:
		return surveyOutcome{failure: "offline, but its job did not end in a timeout"}
	case j.End == 0:
		return surveyOutcome{failure: "its job was never closed"}
	case len(tables) == 0 || len(tables[0].Rows) == 0:
		return surveyOutcome{failure: "its job closed without a package table"}
	}
	return surveyOutcome{packages: len(tables[0].Rows)}
}

func hasImportant(j jobs.Wire) bool {
	for _, e := range j.Hist {
		if e.Important {
			return true
		}
	}
	return false
}

// indentJSON renders raw JSON indented, keeping its key order, for a block
// that starts mid-line.
func indentJSON(raw json.RawMessage, prefix string) string {
	if len(raw) == 0 {
		return "(none)"
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, prefix, "  ") != nil {
		return string(raw)
	}
	return b.String()
}
