package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// Waits of `lcsim emulate` after health: for the answer to one action's
// webhook (the cloud's deadline, and a little more), and for the cloud to
// settle after each action.
const (
	webhookTimeout = webhookDeadline + 10*time.Second
	settleTimeout  = 2 * time.Minute
)

// emulateConfig is what `lcsim emulate` was asked to do.
type emulateConfig struct {
	addr          string
	sensors       int
	serviceURLs   []string // one, or one per replica
	balance       lctest.Balance
	secret        string
	name, org     string
	install       bool
	request       string
	requestSensor int
	tick          string
	rows          int
	wait          time.Duration
	exit, quiet   bool
	protocol      lctest.Protocol
}

func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c emulateConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "address of the REST API (port 0: any free port); printed as LC_API_URL")
	fs.IntVar(&c.sensors, "sensors", 3, "number of fake sensors (Linux, Windows and macOS in turn)")
	fs.Var(serviceFlag{&c.serviceURLs}, "service", "the service's webhook `URL`, e.g. http://127.0.0.1:8080/; for replicas of one service, their URLs separated by commas, e.g. http://127.0.0.1:8080/,http://127.0.0.1:8081/")
	fs.Var(balanceFlag{&c.balance}, "balance", "the `mode` that spreads webhooks over the replicas of -service: roundrobin (each in turn, the default) or random (the same choices on every run)")
	fs.StringVar(&c.secret, "secret", "", "shared secret webhooks are signed with (default $LC_SHARED_SECRET)")
	fs.StringVar(&c.name, "name", "service", "service name, for display (the service picks its own rule names)")
	fs.StringVar(&c.org, "org", "acme", "organization name")
	fs.BoolVar(&c.install, "install", false, "install the service in the organization (org_install); without it no detection reaches the service")
	fs.StringVar(&c.request, "request", "", "send a request event with this JSON object as data (needs -install)")
	fs.IntVar(&c.requestSensor, "request-sensor", 0, `put sensor N's sid (1 = first) in the request's "sid" when the JSON has none`)
	fs.StringVar(&c.tick, "tick", "", "send this scheduled event, e.g. org_per_1h (sensor_per_* goes to every sensor)")
	fs.IntVar(&c.rows, "rows", 8, "table rows and text lines shown per attachment (0: all)")
	fs.DurationVar(&c.wait, "wait", 2*time.Minute, "how long to wait for the service, every replica of it, to answer health (it may be started after emulate)")
	fs.BoolVar(&c.exit, "exit", false, "exit after the actions instead of serving until interrupted (exit status 1 if a webhook failed)")
	fs.BoolVar(&c.quiet, "quiet", false, "do not print activity as it happens")
	fs.Var(protocolFlag{&c.protocol}, "protocol", "webhook protocol: service or extension (an extension gets subscribe for -install, and -tick as a schedule: org_per_12h fires 12h_per_org; -name must then be the extension's name, which its rules call)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: lcsim emulate [flags]

Runs the emulated LimaCharlie cloud — REST API, an organization, fake sensors
that answer tasks, D&R rules, signed webhooks — and prints the environment a
service needs to use it (LC_API_URL, LC_OID, LC_JWT). With -service it waits
for the service to answer health (up to -wait; it exits 1 sooner if the
service refuses the signature), performs the actions asked (-install,
-request, -tick, in that order), prints every webhook exchange and job, then
keeps serving, printing activity, until interrupted (or exits with -exit).

For several replicas of one service, give their URLs to -service separated
by commas: emulate waits for each to answer health, then delivers every
webhook to one of them as a load balancer would (-balance), and names the
replica that got it: [r1] for the first URL, [r2] for the second, and so on.

The API listens on -addr (a free loopback port by default), printed as
LC_API_URL.

flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return usageExit(err)
	}
	if err := flagsFromEnv(fs, map[string]string{"secret": "LC_SHARED_SECRET"}); err != nil {
		fmt.Fprintln(stderr, "lcsim emulate:", err)
		return 2
	}
	data, err := c.check()
	if err != nil {
		fmt.Fprintln(stderr, "lcsim emulate:", err)
		return 2
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintf(stderr, "lcsim emulate: -addr %s: %v\n", c.addr, err)
		return 1
	}
	e := newEmulator(c, ln, stdout, stderr)
	defer e.client.CloseIdleConnections()
	defer e.cloud.Close()
	return e.run(ctx, data)
}

// check validates the flags and returns the request data, if any.
func (c *emulateConfig) check() (map[string]any, error) {
	if c.sensors < 1 || c.sensors > 1000 {
		return nil, fmt.Errorf("-sensors %d: give between 1 and 1000", c.sensors)
	}
	if c.rows < 0 {
		return nil, fmt.Errorf("-rows %d: give 0 (all) or more", c.rows)
	}
	if c.wait <= 0 {
		return nil, fmt.Errorf("-wait %s: give a positive duration, e.g. 30s", c.wait)
	}
	acts := c.install || c.request != "" || c.tick != ""
	if len(c.serviceURLs) == 0 {
		if acts {
			return nil, errors.New("-install, -request and -tick act on a service: give its webhook URL with -service")
		}
		return nil, nil
	}
	if err := checkServiceURLs(c.serviceURLs); err != nil {
		return nil, err
	}
	if c.secret == "" {
		return nil, errors.New("no shared secret to sign webhooks with: pass -secret or export LC_SHARED_SECRET (the secret the service was started with)")
	}
	if c.name == "" {
		return nil, errors.New("-name is empty: give the service a name to show")
	}
	if c.tick != "" {
		if err := checkTick(c.tick); err != nil {
			return nil, err
		}
		if c.protocol == lctest.Extension && scheduleName(c.tick) == "" {
			return nil, fmt.Errorf("-tick %s has no counterpart for an extension: give org_per_ or sensor_per_ with 1h, 3h, 12h, 24h or 7d", c.tick)
		}
		if !strings.HasPrefix(c.tick, "once_per_") && !c.install {
			return nil, fmt.Errorf("-tick %s goes to an organization the service is installed in: add -install", c.tick)
		}
	}
	if c.requestSensor < 0 || c.requestSensor > c.sensors {
		return nil, fmt.Errorf("-request-sensor %d: give a sensor number from 1 to %d (-sensors)", c.requestSensor, c.sensors)
	}
	if c.request == "" {
		if c.requestSensor != 0 {
			return nil, errors.New("-request-sensor without -request: give the request data, e.g. -request '{}'")
		}
		return nil, nil
	}
	if !c.install {
		return nil, errors.New("-request needs -install: the service only gets requests from an organization it is installed in")
	}
	var data map[string]any
	dec := json.NewDecoder(strings.NewReader(c.request))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil || data == nil || dec.More() {
		return nil, fmt.Errorf(`-request %q: give the request data as one JSON object, e.g. '{"sid":"…"}'`, c.request)
	}
	return data, nil
}

// checkTick accepts the scheduled etypes: org_per_, once_per_ and
// sensor_per_ followed by a known period.
func checkTick(etype string) error {
	for _, p := range []string{"org_per_", "once_per_", "sensor_per_"} {
		if strings.HasPrefix(etype, p) && service.EventType(etype).Known() {
			return nil
		}
	}
	return fmt.Errorf("-tick %q: give a scheduled etype: org_per_, once_per_ or sensor_per_ followed by 1h, 3h, 12h, 24h, 7d or 30d", etype)
}

// scheduleName is the schedule event that stands for the tick etype for an
// extension (org_per_12h → 12h_per_org), or "" when none does.
func scheduleName(etype string) string {
	for prefix, per := range map[string]string{"org_per_": "org", "sensor_per_": "sensor"} {
		period, ok := strings.CutPrefix(etype, prefix)
		if !ok {
			continue
		}
		switch period {
		case "1h", "3h", "12h", "24h":
			return period + "_per_" + per
		case "7d":
			return "168h_per_" + per
		}
	}
	return ""
}

// emulator is one run of `lcsim emulate`.
type emulator struct {
	cfg     emulateConfig
	out     *console
	stderr  io.Writer // for the reason emulate stops early
	book    *sensorBook
	cloud   *lctest.Cloud
	org     *lctest.Org
	sensors []*lctest.Sensor
	client  *http.Client // forwards webhooks to replicas (see replicaProxy)
}

func newEmulator(c emulateConfig, ln net.Listener, stdout, stderr io.Writer) *emulator {
	// As the cloud's own client: no proxy from the environment.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy, tr.MaxIdleConnsPerHost = nil, 16
	e := &emulator{cfg: c, out: &console{w: stdout}, stderr: stderr, book: newSensorBook(), client: &http.Client{Transport: tr}}
	n := newNarrator(e.out, e.book, true, c.quiet, "", c.rows)
	n.replicas = len(c.serviceURLs) > 1
	e.cloud = lctest.NewCloud(lctest.WithObserver(n.observe), lctest.WithListener(ln))
	e.org = e.cloud.NewOrg(c.org)
	for _, cfg := range fleet(c.sensors) {
		s := e.org.AddSensor(cfg)
		e.book.add(s)
		e.sensors = append(e.sensors, s)
	}
	return e
}

func (e *emulator) run(ctx context.Context, data map[string]any) int {
	e.printEnvironment()
	if len(e.cfg.serviceURLs) == 0 {
		e.out.printf("# no -service given: only the REST API runs. Stop with Ctrl-C.\n")
		if !e.cfg.exit {
			<-ctx.Done()
		}
		return 0
	}
	svc, err := e.register(ctx)
	if err != nil {
		if ctx.Err() != nil { // interrupted: the user stopped it
			e.out.printf("# interrupted before the service answered health\n")
			if e.cfg.exit {
				return 1
			}
			return 0
		}
		e.out.printf("# stopped: the service could not be registered\n")
		fmt.Fprintln(e.stderr, "lcsim emulate:", err)
		return 1
	}
	where := e.where()
	if len(e.cfg.serviceURLs) > 1 {
		where += " (" + e.cfg.balance.String() + ")"
	}
	if e.cfg.protocol == lctest.Extension {
		e.out.printf("extension %q at %s answered heartbeat and schema_request: actions %s; events %s\n",
			svc.Name(), where, listOrNone(svc.Schema().Actions), listOrNone(svc.Schema().RequiredEvents))
	} else {
		e.out.printf("service %q at %s answered health: subscribes to %s; callbacks %s\n",
			svc.Name(), where, listOrNone(svc.Subscriptions()), listOrNone(svc.Callbacks()))
	}
	ok := e.act(ctx, svc, data)
	if e.cfg.exit {
		if !ok {
			return 1
		}
		return 0
	}
	e.printHints(svc)
	<-ctx.Done()
	e.out.printf("# interrupted: stopping the emulated cloud\n")
	return 0
}

// printEnvironment prints what a shell running the service needs, and
// the sensors, as lines that can be pasted whole.
func (e *emulator) printEnvironment() {
	var b strings.Builder
	fmt.Fprintf(&b, "# lcsim emulate: an emulated LimaCharlie cloud is running.\n")
	fmt.Fprintf(&b, "# Paste into the shell that runs your service:\n")
	fmt.Fprintf(&b, "export LC_API_URL=%s\n", e.cloud.URL())
	fmt.Fprintf(&b, "export LC_OID=%s\n", e.org.OID)
	fmt.Fprintf(&b, "export LC_JWT=%s\n", e.org.JWT)
	fmt.Fprintf(&b, "# organization %q, %s:\n", e.org.Name, plural(len(e.sensors), "sensor"))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "#   n\tsid\thostname\tplatform\n")
	for i, s := range e.sensors {
		fmt.Fprintf(tw, "#   %d\t%s\t%s\t%s\n", i+1, s.SID, s.Hostname(), s.Platform())
	}
	tw.Flush()
	e.out.write(b.String())
}

// where is the service's URL, or its replicas' ("r1 URL1, r2 URL2").
func (e *emulator) where() string {
	if len(e.cfg.serviceURLs) == 1 {
		return e.cfg.serviceURLs[0]
	}
	return replicaList(e.cfg.serviceURLs)
}

// register waits until the service answers health, trying again while it
// is not up yet (it can only start once the lines above are pasted into
// its shell), then registers it with the cloud. Each wait is bounded. A
// service with several replicas is registered as lctest replicas, each
// forwarding to its URL.
func (e *emulator) register(ctx context.Context) (*lctest.Service, error) {
	e.out.printf("# waiting up to %s for the service at %s to answer health…\n", e.cfg.wait, e.where())
	if err := e.waitHealth(ctx); err != nil {
		return nil, err
	}
	cfg := lctest.ServiceConfig{Name: e.cfg.name, Secret: e.cfg.secret, Protocol: e.cfg.protocol}
	if urls := e.cfg.serviceURLs; len(urls) == 1 {
		cfg.URL = urls[0]
	} else {
		for i, u := range urls {
			cfg.Replicas = append(cfg.Replicas, &replicaProxy{n: i + 1, url: u, client: e.client})
		}
		cfg.Balance = e.cfg.balance
	}
	rctx, cancel := context.WithTimeout(ctx, healthAttempt)
	defer cancel()
	return e.cloud.Register(rctx, cfg)
}

// waitHealth waits for every URL of -service to answer health, all at
// once, each for up to -wait. The first that fails stops the others: the
// service cannot be registered without it.
func (e *emulator) waitHealth(ctx context.Context) error {
	urls := e.cfg.serviceURLs
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		who := ""
		if len(urls) > 1 {
			who = replicaName(i) + " "
		}
		wg.Go(func() {
			last := ""
			notYet := func(err error) {
				// Say it once per distinct failure, not once per attempt.
				if cause := rootCause(err).Error(); cause != last {
					e.out.printf("# %snot yet (trying again every %s): %v\n", who, healthRetryEvery, err)
					last = cause
				}
			}
			if errs[i] = waitHealth(wctx, u, e.cfg.secret, e.cfg.wait, notYet); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, err := range errs {
		// Those stopped because another failed end with context.Canceled.
		if err == nil || errors.Is(err, context.Canceled) {
			continue
		}
		if len(urls) > 1 {
			return fmt.Errorf("replica %d: %w", i+1, err)
		}
		return err
	}
	return nil
}

// act performs -install, -request and -tick, waits for the cloud to
// settle, and prints every exchange and job. It reports whether every
// webhook succeeded.
func (e *emulator) act(ctx context.Context, svc *lctest.Service, data map[string]any) bool {
	if !e.cfg.install && data == nil && e.cfg.tick == "" {
		return true
	}
	start := len(svc.Exchanges())
	ok := true
	// Each step waits for the work it caused (tasks, answers, detection
	// webhooks), so the activity lines read in order.
	step := func(title string, do func(context.Context) (lctest.Response, error)) {
		e.out.printf("== %s\n", title)
		dctx, cancel := context.WithTimeout(ctx, webhookTimeout)
		_, err := do(dctx)
		timedOut := errors.Is(dctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case timedOut:
			e.out.printf("no answer to %s within %s: the service is stuck\n", title, webhookTimeout)
			ok = false
		case err != nil:
			e.out.printf("%v\n", err)
			ok = false
		}
		wctx, cancel := context.WithTimeout(ctx, settleTimeout)
		defer cancel()
		if err := e.cloud.WaitIdle(wctx); err != nil {
			e.out.printf("still busy after %s: %v\n", settleTimeout, err)
			ok = false
		}
	}
	if e.cfg.install && e.cfg.protocol == lctest.Extension {
		step("subscribe", func(ctx context.Context) (lctest.Response, error) { return svc.Install(ctx, e.org) })
	} else if e.cfg.install {
		step("org_install", func(ctx context.Context) (lctest.Response, error) { return svc.Install(ctx, e.org) })
	}
	if data != nil {
		if _, has := data["sid"]; !has && e.cfg.requestSensor > 0 {
			data["sid"] = e.sensors[e.cfg.requestSensor-1].SID
		}
		raw, _ := json.Marshal(data) // decoded from JSON, so it encodes
		step("request "+string(raw), func(ctx context.Context) (lctest.Response, error) {
			return svc.Request(ctx, e.org, json.RawMessage(raw))
		})
	}
	if t := e.cfg.tick; t != "" && e.cfg.protocol == lctest.Extension {
		name := scheduleName(t)
		step(name, func(ctx context.Context) (lctest.Response, error) {
			return lctest.Response{}, e.cloud.Schedule(ctx, e.org, name)
		})
	} else if t != "" {
		switch {
		case strings.HasPrefix(t, "sensor_per_"):
			for _, s := range e.sensors {
				step(t+" "+s.Hostname(), func(ctx context.Context) (lctest.Response, error) { return svc.TickSensor(ctx, s, t) })
			}
		case strings.HasPrefix(t, "once_per_"):
			step(t, func(ctx context.Context) (lctest.Response, error) { return svc.Tick(ctx, nil, t) })
		default:
			step(t, func(ctx context.Context) (lctest.Response, error) { return svc.Tick(ctx, e.org, t) })
		}
	}
	// Exchanges are recorded as they end, and a detection can end before
	// the request that caused it: list them in the order they began.
	xs := svc.Exchanges()[start:]
	slices.SortStableFunc(xs, func(a, b lctest.Exchange) int { return a.Time.Compare(b.Time) })
	if !e.printExchanges(xs) {
		ok = false
	}
	e.printJobs(svc)
	return ok
}

// printExchanges lists webhook deliveries and reports whether all succeeded.
// A success that carries an error is shown with it, and counts as a success.
// With several replicas, a column names the replica of each.
func (e *emulator) printExchanges(xs []lctest.Exchange) bool {
	ok := true
	var b strings.Builder
	fmt.Fprintf(&b, "exchanges (%d):\n", len(xs))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, x := range xs {
		outcome := "success"
		switch {
		case x.Err != nil:
			outcome, ok = "error: "+x.Err.Error(), false
		case !x.Response.Success && x.Response.Retry:
			outcome, ok = "failed, retry asked: "+x.Response.Error, false
		case !x.Response.Success:
			outcome, ok = "failed: "+x.Response.Error, false
		case x.Response.Error != "":
			outcome = "success, with an error: " + x.Response.Error
		}
		attempt := ""
		if x.Attempt > 1 {
			attempt = fmt.Sprintf("(attempt %d)", x.Attempt)
		}
		what := x.EType
		if x.Action != "" {
			what += " " + x.Action
		}
		if len(e.cfg.serviceURLs) > 1 {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", what, replicaName(x.Replica), oneLine(outcome), attempt)
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", what, oneLine(outcome), attempt)
		}
	}
	tw.Flush()
	e.out.write(trimLineEnds(b.String()))
	return ok
}

// printJobs prints every job the service reported, merged by id.
func (e *emulator) printJobs(svc *lctest.Service) {
	js := svc.Jobs()
	if len(js) == 0 {
		e.out.printf("jobs: none\n")
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "jobs (%d):\n", len(js))
	for _, j := range js {
		renderJob(&b, wireJob(j), e.book, e.cfg.rows)
	}
	e.out.write(b.String())
}

// printHints tells how to go on by hand while the cloud keeps serving.
func (e *emulator) printHints(svc *lctest.Service) {
	var b strings.Builder
	fmt.Fprintf(&b, "# serving until interrupted (Ctrl-C); activity is printed as it happens.\n")
	if !svc.Installed(e.org) {
		fmt.Fprintf(&b, "# note: the service is not installed in %q (no -install): detections will not reach it.\n", e.org.Name)
	}
	fmt.Fprintf(&b, "# Drive the service by hand with LC_OID, LC_JWT and LC_SHARED_SECRET exported, e.g.:\n")
	proto := ""
	if e.cfg.protocol == lctest.Extension {
		proto = "-protocol extension "
	}
	fmt.Fprintf(&b, "#   lcsim send %s-data '{\"sid\":\"%s\"}' %s request\n", proto, e.sensors[0].SID, e.cfg.serviceURLs[0])
	if len(e.cfg.serviceURLs) > 1 {
		fmt.Fprintf(&b, "# (send posts to the replica at that URL directly; the cloud's webhooks go through its balancer)\n")
	}
	e.out.write(b.String())
}

// rootCause is the innermost error err wraps.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

// trimLineEnds drops the padding tabwriter leaves at the end of lines.
func trimLineEnds(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b bytes.Buffer
	for _, l := range lines {
		nl := strings.HasSuffix(l, "\n")
		b.WriteString(strings.TrimRight(l, " \n"))
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
