package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// loadConfig is what `lcsim load` needs.
type loadConfig struct {
	url         string
	name        string // service name: tokens and the replicant detection carry it
	handler     string // reply handler the tokens name ("" for none)
	secret      string
	oid, sid    string
	jwt         string
	mix         loadMix
	concurrency int
	rate        float64 // webhooks per second; 0 means as fast as concurrency allows
	duration    time.Duration
	timeout     time.Duration
	packages    int // size of each detection's OS_PACKAGES_REP
	requestData string
	maxErrors   float64 // fraction of webhooks that may fail before the exit code says so
	serverPID   int
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := loadConfig{mix: loadMix{{kind: "detection", weight: 1}}}
	fs.StringVar(&c.name, "name", "", "the service's name: detections carry valid tokens for it (required for detections)")
	fs.StringVar(&c.handler, "handler", "", "the reply handler the tokens name (registered with HandleReply); empty routes to the orphan handler")
	fs.StringVar(&c.secret, "secret", "", "shared secret that signs the bodies and keys the tokens (default $LC_SHARED_SECRET)")
	fs.StringVar(&c.oid, "oid", "", "organization id in the envelopes (default $LC_OID, else a random one)")
	fs.StringVar(&c.jwt, "jwt", "", "organization JWT in the envelopes (default $LC_JWT, else a placeholder)")
	fs.StringVar(&c.sid, "sid", "", "sensor id the detections come from (default a random one)")
	fs.Var(&c.mix, "mix", "webhook kinds and weights, e.g. detection=8,request=1,health=1")
	fs.IntVar(&c.concurrency, "c", 16, "webhooks in flight at once")
	fs.Float64Var(&c.rate, "rate", 0, "target webhooks per second (0: as fast as -c allows)")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "how long to send")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long one webhook may take before it counts as a timeout")
	fs.IntVar(&c.packages, "packages", 25, "packages in each detection's OS_PACKAGES_REP (25 is about 2.8 KB)")
	fs.StringVar(&c.requestData, "request-data", "{}", "data of request webhooks, a JSON object of the service's request parameters")
	fs.Float64Var(&c.maxErrors, "max-errors", 0.01, "fraction of webhooks that may fail before lcsim exits 1")
	fs.IntVar(&c.serverPID, "server-pid", 0, "process id of the service, to report its CPU time per webhook (Linux)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: lcsim load [flags] URL

Sends signed webhooks to the service at URL for a while, at a fixed
concurrency (-c) or a target rate (-rate), and reports throughput, latency
percentiles and errors by kind. Detections carry a valid token of the
service (-name, -secret) for the reply handler named by -handler, and an
OS_PACKAGES_REP of -packages packages. A progress line is printed every
second and a summary at the end; the exit code is 1 when more than
-max-errors of the webhooks failed.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if err := flagsFromEnv(fs, map[string]string{"oid": "LC_OID", "jwt": "LC_JWT", "secret": "LC_SHARED_SECRET"}); err != nil {
		fmt.Fprintln(stderr, "lcsim load:", err)
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	c.url = fs.Arg(0)
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "lcsim load:", err)
		return 2
	}
	gen, err := newWebhookMaker(c)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim load:", err)
		return 2
	}
	sum, err := runLoadTest(ctx, c, gen, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim load:", err)
		return 1
	}
	fmt.Fprint(stdout, sum.String())
	if sum.errorRate() > c.maxErrors {
		fmt.Fprintf(stderr, "lcsim load: %.2f%% of webhooks failed, more than -max-errors %.2f%%\n", 100*sum.errorRate(), 100*c.maxErrors)
		return 1
	}
	return 0
}

func (c *loadConfig) check() error {
	switch {
	case c.secret == "":
		return errors.New("no secret to sign with: pass -secret or export LC_SHARED_SECRET (the secret the service was started with)")
	case c.concurrency < 1:
		return fmt.Errorf("-c %d: at least one webhook must be in flight", c.concurrency)
	case c.rate < 0:
		return fmt.Errorf("-rate %v: use a positive rate, or 0 for as fast as -c allows", c.rate)
	case c.duration <= 0:
		return fmt.Errorf("-d %v: use a positive duration", c.duration)
	case c.timeout <= 0:
		return fmt.Errorf("-timeout %v: use a positive duration", c.timeout)
	case c.packages < 0:
		return fmt.Errorf("-packages %d: use 0 or more", c.packages)
	case c.maxErrors < 0 || c.maxErrors > 1:
		return fmt.Errorf("-max-errors %v: use a fraction between 0 and 1", c.maxErrors)
	case c.mix.has("detection") && c.name == "":
		return errors.New("detections carry tokens of one service: pass -name (the name the service was created with)")
	}
	return nil
}

// loadMix is the weighted list of webhook kinds to send.
type loadMix []mixEntry

type mixEntry struct {
	kind   string // detection, request or health
	weight int
}

func (m *loadMix) String() string {
	if m == nil || len(*m) == 0 {
		return "detection=1"
	}
	parts := make([]string, len(*m))
	for i, e := range *m {
		parts[i] = e.kind + "=" + strconv.Itoa(e.weight)
	}
	return strings.Join(parts, ",")
}

// Set parses "kind=weight,…"; a kind without a weight counts once.
func (m *loadMix) Set(s string) error {
	var out loadMix
	for _, part := range strings.Split(s, ",") {
		kind, w, hasWeight := strings.Cut(strings.TrimSpace(part), "=")
		weight := 1
		if hasWeight {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				return fmt.Errorf("weight of %q: %q is not a whole number of 0 or more", kind, w)
			}
			weight = n
		}
		switch kind {
		case "detection", "request", "health":
		default:
			return fmt.Errorf("unknown webhook kind %q: use detection, request or health", kind)
		}
		if weight > 0 {
			out = append(out, mixEntry{kind: kind, weight: weight})
		}
	}
	if len(out) == 0 {
		return errors.New("the mix sends nothing: give at least one kind a positive weight")
	}
	*m = out
	return nil
}

func (m loadMix) has(kind string) bool {
	for _, e := range m {
		if e.kind == kind {
			return true
		}
	}
	return false
}

// pick returns the kind of webhook number n: the mix repeats in a fixed
// pattern, so every run sends the same proportions.
func (m loadMix) pick(n uint64) string {
	total := 0
	for _, e := range m {
		total += e.weight
	}
	r := int(n % uint64(total))
	for _, e := range m {
		if r < e.weight {
			return e.kind
		}
		r -= e.weight
	}
	return m[0].kind
}

// newLoadClient keeps enough idle connections for every worker.
func newLoadClient(c loadConfig) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = c.concurrency * 2
	t.MaxIdleConnsPerHost = c.concurrency * 2
	return &http.Client{Transport: t, Timeout: c.timeout}
}
