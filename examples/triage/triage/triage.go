package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// Name is the service name; its replicant rule is svc-triage-ex.
const Name = "triage"

// DefaultDetection is the detection category triaged when
// Options.Detections is empty.
const DefaultDetection = "suspicious-execution"

// The named continuations, registered by New on every process.
const (
	handlerProcesses = "triage.processes"
	handlerHash      = "triage.hash"
)

// Options tune the service; the zero value is production's.
type Options struct {
	// Detections are the detection categories (cat) that start a triage
	// (default [DefaultDetection]). The service subscribes to them.
	Detections []string
	// TTL is how long a sensor has to answer each task (default 2 minutes).
	TTL time.Duration
	// Interactive options are passed to interactive.New: the API URL, log
	// output, a clock for tests.
	Interactive []interactive.Option
}

// triager is the service's behaviour. Between steps it holds nothing but
// the row cache; everything else travels in the tokens.
type triager struct {
	is         *interactive.Service
	detections []string
	ttl        time.Duration
	cache      *rowCache
}

// New builds the triage service with the shared secret.
func New(secret string, o Options) (*interactive.Service, error) {
	t, err := newTriager(secret, o)
	if err != nil {
		return nil, err
	}
	return t.is, nil
}

func newTriager(secret string, o Options) (*triager, error) {
	if secret == "" {
		return nil, errors.New("no shared secret: export LC_SHARED_SECRET (the secret configured for this service in LimaCharlie)")
	}
	if o.TTL < 0 {
		return nil, fmt.Errorf("Options.TTL is %v: use a positive duration, or 0 for 2 minutes", o.TTL)
	}
	if o.TTL == 0 {
		o.TTL = 2 * time.Minute
	}
	dets := slices.Clone(o.Detections)
	if len(dets) == 0 {
		dets = []string{DefaultDetection}
	}
	if slices.Contains(dets, "") {
		return nil, errors.New("Options.Detections holds an empty category: list detection names such as " + DefaultDetection)
	}
	is, err := interactive.New(Name, secret, o.Interactive...)
	if err != nil {
		return nil, err
	}
	t := &triager{is: is, detections: dets, ttl: o.TTL, cache: newRowCache()}
	is.HandleReply(handlerProcesses, t.processesListed)
	is.HandleReply(handlerHash, t.fileHashed)
	is.SubscribeDetections(dets...)
	is.OnDetection(t.onDetection)
	return t, nil
}

// onDetection starts a triage for the detections it is configured for; the
// interactive layer has already routed the replies to tasks elsewhere.
func (t *triager) onDetection(ctx context.Context, req *service.Request) service.Response {
	d, err := parseTrigger(req.Data)
	if err != nil {
		return service.Fail(err)
	}
	if !slices.Contains(t.detections, d.Cat) {
		return service.OK(nil)
	}
	if d.SID == "" {
		return service.Failf("detection %q carries no routing.sid: cannot tell which sensor to triage", d.Cat)
	}
	host := d.Hostname
	if host == "" {
		host = d.SID
	}
	job := jobs.New()
	job.SetCause(fmt.Sprintf("triage of %s on %s", d.Cat, host))
	job.AddSensor(d.SID)
	// Narrated before tasking: the sensor may answer before this response is sent.
	job.Narrate(fmt.Sprintf("%s reported on %s; listing its processes", d.Cat, host), false)
	_, err = t.is.Task(ctx, req.Org(), d.SID, "os_processes",
		interactive.Via(handlerProcesses),
		interactive.WithJob(job),
		interactive.TTL(t.ttl),
		interactive.OnTimeout(t.processesTimedOut),
	)
	if err != nil {
		if resp := service.FailOrRetry(err); resp.Retry {
			// A rate limit, an API error or timeout: the cloud delivers
			// the detection again and the triage starts over (a task that
			// did reach the API is not sent twice).
			return resp
		}
		job.Narrate("could not task the sensor: "+err.Error(), true)
		job.Close()
		return service.Fail(err).WithJobs(job)
	}
	return service.OK(map[string]string{"job_id": job.ID()}).WithJobs(job)
}

// trigger is what a triage needs of the detection that starts it.
type trigger struct {
	Cat      string
	SID      string
	Hostname string
}

type triggerRouting struct {
	SID      string `json:"sid"`
	Hostname string `json:"hostname"`
}

// parseTrigger reads the detection's category and sensor: from routing,
// else from detect.routing (a detect that is the bare event has none).
func parseTrigger(data json.RawMessage) (trigger, error) {
	var d struct {
		Cat     string          `json:"cat"`
		Routing triggerRouting  `json:"routing"`
		Detect  json.RawMessage `json:"detect"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return trigger{}, fmt.Errorf("the detection is not the JSON object of a detection: %w", err)
	}
	tr := trigger{Cat: d.Cat, SID: d.Routing.SID, Hostname: d.Routing.Hostname}
	var inner struct {
		Routing triggerRouting `json:"routing"`
	}
	if tr.SID == "" && json.Unmarshal(d.Detect, &inner) == nil {
		tr.SID, tr.Hostname = inner.Routing.SID, inner.Routing.Hostname
	}
	return tr, nil
}
