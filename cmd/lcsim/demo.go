package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lcsvc/lcservice/lctest"
)

// demoSettle bounds each wait of the demo once the service runs: for a
// webhook's answer, for the cloud to settle, and beyond the survey TTL for
// the offline sensors' timeouts to be reported.
const demoSettle = 30 * time.Second

// tickEvery is how often the demo ticks while it waits for timed-out
// surveys to be reported.
const tickEvery = 250 * time.Millisecond

// demoConfig is what `lcsim demo` was asked to do.
type demoConfig struct {
	command          []string // the service to run, and its arguments
	name             string
	sensors, offline int
	rows             int
	ttl              time.Duration
	wait, grace      time.Duration
	verbose, quiet   bool
	protocol         lctest.Protocol
}

const demoUsage = `usage: lcsim demo [flags] -- COMMAND [ARGS...]

Runs a package-survey service against the emulated LimaCharlie cloud.
COMMAND is the service, e.g. the examples/packages binary (make demo builds
it): lcsim starts it, installs it in an organization, asks it to survey
every sensor, shows the answers as they arrive, then each job's narrative
and package table and a summary. Exits 1 if a survey that should have
succeeded did not.

COMMAND runs with lcsim's environment plus:
  PORT=<a free port>          where it serves webhooks (/) and GET /healthz;
                              lcsim connects to it on 127.0.0.1
  LC_SHARED_SECRET=<random>   the secret webhooks are signed with
  LC_API_URL=<the cloud>      the REST API it tasks sensors through
  SURVEY_TTL=<-ttl>           how long a sensor has to answer, e.g. 2s
  LC_PROTOCOL=<-protocol>     service or extension: the webhook protocol
  LC_DRAIN_DELAY=0            no load balancer to wait for: stop at once
lcsim waits up to -wait for GET http://127.0.0.1:PORT/healthz to answer 200,
then registers it. When the demo ends, or fails, COMMAND gets SIGTERM, and
SIGKILL after -grace. Its output is discarded unless -v.

flags:
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c demoConfig
	fs.StringVar(&c.name, "name", "package-survey", "the service's name, as registered with the cloud")
	fs.IntVar(&c.sensors, "sensors", 4, "number of fake sensors (Linux, Windows and macOS in turn)")
	fs.IntVar(&c.offline, "offline", 1, "how many of them (the last ones) are offline, to show the timeout path")
	fs.IntVar(&c.rows, "rows", 8, "table rows shown per job (0: all)")
	fs.DurationVar(&c.ttl, "ttl", 2*time.Second, "how long a sensor has to answer before its survey times out (passed as SURVEY_TTL)")
	fs.DurationVar(&c.wait, "wait", 30*time.Second, "how long the service has to start answering GET /healthz")
	fs.DurationVar(&c.grace, "grace", 5*time.Second, "how long the service has to exit after SIGTERM before it is killed")
	fs.BoolVar(&c.verbose, "v", false, "copy the service's output to standard error")
	fs.BoolVar(&c.quiet, "quiet", false, "do not print progress as answers arrive")
	fs.Var(protocolFlag{&c.protocol}, "protocol", "webhook protocol: service or extension (passed as LC_PROTOCOL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, demoUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	c.command = fs.Args()
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "lcsim demo:", err)
		return 2
	}
	if err := demo(ctx, c, stdout, stderr); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "lcsim demo: interrupted; the service was stopped")
		} else {
			fmt.Fprintln(stderr, "lcsim demo:", err)
		}
		return 1
	}
	return 0
}

func (c *demoConfig) check() error {
	switch {
	case c.name == "":
		return errors.New("-name is empty: give the service's name")
	case c.sensors < 1 || c.sensors > 100:
		return fmt.Errorf("-sensors %d: give between 1 and 100", c.sensors)
	case c.offline < 0 || c.offline > c.sensors:
		return fmt.Errorf("-offline %d: give between 0 and -sensors (%d)", c.offline, c.sensors)
	case c.rows < 0:
		return fmt.Errorf("-rows %d: give 0 (all) or more", c.rows)
	case c.ttl <= 0:
		return fmt.Errorf("-ttl %s: give a positive duration, e.g. 2s", c.ttl)
	case c.wait <= 0:
		return fmt.Errorf("-wait %s: give a positive duration, e.g. 30s", c.wait)
	case c.grace <= 0:
		return fmt.Errorf("-grace %s: give a positive duration, e.g. 5s", c.grace)
	case len(c.command) == 0:
		return errors.New("no service to run: give its command after --, e.g. lcsim demo -- bin/packages (make demo builds it)")
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
	child   *child
	svc     *lctest.Service
	sensors []*lctest.Sensor
	jobIDs  map[string]string // sid → id of the job surveying it
	// lastOffline is when the last offline sensor's survey was asked
	// for: its timeout fires a TTL later.
	lastOffline time.Time
}

// demo runs the whole demo; the error says which step or survey went wrong.
func demo(ctx context.Context, c demoConfig, stdout, stderr io.Writer) (err error) {
	d := &demoRun{cfg: c, out: &console{w: stdout}, book: newSensorBook(), jobIDs: map[string]string{}}
	d.cloud = lctest.NewCloud(lctest.WithObserver(newNarrator(d.out, d.book, false, c.quiet, "  ", c.rows).observe))
	defer d.cloud.Close()
	d.org = d.cloud.NewOrg("demo")
	for i, cfg := range fleet(c.sensors) {
		cfg.Offline = i >= c.sensors-c.offline
		s := d.org.AddSensor(cfg)
		d.book.add(s)
		d.sensors = append(d.sensors, s)
	}

	// The service, as its own process: the environment is the contract.
	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	secret := rand.Text()
	childOut := io.Discard
	if c.verbose {
		childOut = stderr
	}
	d.child, err = startChild(c.command, []string{
		"PORT=" + port,
		"LC_SHARED_SECRET=" + secret,
		"LC_API_URL=" + d.cloud.URL(),
		"SURVEY_TTL=" + c.ttl.String(),
		"LC_PROTOCOL=" + c.protocol.String(),
		"LC_DRAIN_DELAY=0",
	}, childOut)
	if err != nil {
		return err
	}
	defer func() {
		var told *childExitError
		if err != nil && d.child.exited() && !errors.As(err, &told) {
			err = fmt.Errorf("%w\nthe service had stopped: %s", err, d.child.exitReport())
		}
		d.cloud.Close() // no webhook in flight while the service stops
		d.child.stop(c.grace)
	}()
	serviceURL := "http://127.0.0.1:" + port + "/"
	d.printSetup(serviceURL)

	if err := d.register(ctx, serviceURL, secret); err != nil {
		return err
	}
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
	fmt.Fprintf(&b, "lcsim demo: the %s service against an emulated LimaCharlie cloud\n\n", d.cfg.name)
	fmt.Fprintf(&b, "cloud API  %s\n", d.cloud.URL())
	fmt.Fprintf(&b, "service    %s (pid %d) on %s (SURVEY_TTL=%s: sensors get %s to answer)\n",
		strings.Join(d.cfg.command, " "), d.child.pid(), serviceURL, d.cfg.ttl, d.cfg.ttl)
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

// register waits for the service to start, checks that it accepts the
// secret it was given, and registers it with the cloud.
func (d *demoRun) register(ctx context.Context, serviceURL, secret string) error {
	if err := d.child.waitReady(ctx, serviceURL+"healthz", d.cfg.wait); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, demoSettle)
	defer cancel()
	if d.cfg.protocol == lctest.ServiceProtocol {
		if err := postHealth(ctx, serviceURL, secret); refusedSignature(err) {
			return errors.New("the service refused the signature (HTTP 401): it must verify webhooks with the secret lcsim passes in LC_SHARED_SECRET")
		}
	}
	svc, err := d.cloud.Register(ctx, lctest.ServiceConfig{Name: d.cfg.name, Secret: secret, URL: serviceURL, Protocol: d.cfg.protocol})
	if err != nil {
		return fmt.Errorf("registering the service with the emulated cloud: %w", err)
	}
	d.svc = svc
	if d.cfg.protocol == lctest.Extension {
		d.out.printf("registered as an extension: heartbeat answered; actions %s; events %s\n", listOrNone(svc.Schema().Actions), listOrNone(svc.Schema().RequiredEvents))
		return nil
	}
	d.out.printf("registered: health answered, subscribes to %s\n", listOrNone(svc.Subscriptions()))
	return nil
}

// deliver sends one webhook with do, bounding the wait for its answer.
func (d *demoRun) deliver(ctx context.Context, etype string, do func(context.Context) (lctest.Response, error)) (lctest.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, demoSettle)
	defer cancel()
	resp, err := do(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return resp, fmt.Errorf("the service did not answer the %s webhook within %s", etype, demoSettle)
	}
	return resp, err
}

// install sends org_install and shows the rule the service stored.
func (d *demoRun) install(ctx context.Context) error {
	d.out.printf("\n== installing the service in %q\n", d.org.Name)
	resp, err := d.deliver(ctx, "org_install", func(ctx context.Context) (lctest.Response, error) { return d.svc.Install(ctx, d.org) })
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
		resp, err := d.deliver(ctx, "request", func(ctx context.Context) (lctest.Response, error) {
			return d.svc.Request(ctx, d.org, map[string]any{"sid": s.SID})
		})
		switch {
		case err != nil:
			d.out.printf("  ✗ %v\n", err)
		case !resp.Success || len(resp.Jobs) == 0:
			d.out.printf("  ✗ refused: %s\n", resp.Error)
		default:
			d.jobIDs[s.SID] = resp.Jobs[0].ID
			if !s.Online() {
				d.lastOffline = time.Now()
			}
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
		return fmt.Errorf("the cloud was still busy after %s: %w", demoSettle, err)
	}
	return nil
}

// flushTimeouts waits for the offline sensors' surveys to time out, then
// sends the hourly tick: a timeout has no webhook of its own to answer, so
// its job update rides the next response to the organization. The service
// runs apart, so the demo cannot see a timeout fire: it ticks until the
// jobs are closed.
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
	limit := d.cfg.ttl + demoSettle
	ctx, cancel := context.WithDeadline(ctx, d.lastOffline.Add(limit))
	defer cancel()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(d.lastOffline.Add(d.cfg.ttl))):
	}
	if d.cfg.protocol == lctest.Extension {
		return d.flushContinuations(ctx, waiting, limit)
	}
	d.out.printf("== org_per_1h tick: carries the timed-out jobs' updates (and re-stores the rule)\n")
	poll := time.NewTicker(tickEvery)
	defer poll.Stop()
	for {
		if _, err := d.svc.Tick(ctx, d.org, "org_per_1h"); err != nil && ctx.Err() == nil {
			return err
		}
		if err := d.cloud.WaitIdle(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		if d.allClosed(waiting) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the surveys of offline sensors were not closed within %s: does the service read SURVEY_TTL?", limit)
			}
			return ctx.Err()
		case <-poll.C:
		}
	}
}

// flushContinuations is flushTimeouts for an extension: each task's
// timeout rides a continuation, whose answer carries the job update. The
// cloud fires them now rather than after their delay, until the jobs are
// closed.
func (d *demoRun) flushContinuations(ctx context.Context, waiting []string, limit time.Duration) error {
	d.out.printf("== firing the timeout continuations: their answers carry the timed-out jobs' updates\n")
	poll := time.NewTicker(tickEvery)
	defer poll.Stop()
	for {
		if _, err := d.cloud.RunContinuations(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		if err := d.cloud.WaitIdle(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		if d.allClosed(waiting) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the surveys of offline sensors were not closed within %s: does the service read SURVEY_TTL?", limit)
			}
			return ctx.Err()
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
