package interactive_test

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// The end-to-end tests run the interactive layer against lctest's
// emulated cloud: the service stores its rule through the REST API, tasks
// fake sensors, and gets their answers back as detection webhooks made by
// that rule.

const (
	name   = "itest"
	secret = "interactive-secret"
)

// world is an emulated cloud with one organization and one Linux sensor,
// and the service under test registered and installed there.
type world struct {
	cloud *lctest.Cloud
	org   *lctest.Org
	host  *lctest.Sensor
	reg   *lctest.Service
	is    *interactive.Service
	log   *lockedBuffer
}

// config tunes a world.
type config struct {
	cloud     []lctest.Option
	opts      []interactive.Option // for the service process
	noInstall bool
	extension bool // serve the service as an extension, and the cloud speaks that protocol
}

func newWorld(t *testing.T, cfg config, setup func(*interactive.Service)) *world {
	t.Helper()
	cloud := lctest.New(t, cfg.cloud...)
	w := &world{cloud: cloud, org: cloud.NewOrg("acme"), log: &lockedBuffer{}}
	w.host = w.org.AddSensor(lctest.SensorConfig{Hostname: "host-1", Platform: lctest.Linux})
	opts, proto := cfg.opts, lctest.ServiceProtocol
	if cfg.extension {
		opts, proto = append([]interactive.Option{interactive.WithServiceOptions(extension.Serve())}, opts...), lctest.Extension
	}
	w.is = w.process(t, setup, opts...)
	reg, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: name, Secret: secret, Handler: w.is, Protocol: proto})
	if err != nil {
		t.Fatal(err)
	}
	w.reg = reg
	if !cfg.noInstall {
		if res, err := reg.Install(t.Context(), w.org); err != nil || !res.Success || res.Error != "" {
			t.Fatalf("install: %+v %v", res, err)
		}
	}
	return w
}

// process starts one service process: the interactive layer calling the
// cloud's API with quick retries, set up by setup.
func (w *world) process(t *testing.T, setup func(*interactive.Service), opts ...interactive.Option) *interactive.Service {
	t.Helper()
	client := tasking.NewClient(tasking.WithBaseURL(w.cloud.URL()), tasking.WithRetry(4, time.Millisecond, 5*time.Millisecond))
	all := append([]interactive.Option{interactive.WithClient(client), interactive.WithServiceOptions(service.WithLogOutput(w.log, w.log))}, opts...)
	is, err := interactive.New(name, secret, all...)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(is)
	}
	t.Cleanup(func() { _ = is.Shutdown(t.Context()) })
	return is
}

// request sends a request webhook and waits for everything it causes.
func (w *world) request(t *testing.T, data map[string]any) lctest.Response {
	t.Helper()
	res, err := w.reg.Request(t.Context(), w.org, data)
	if err != nil {
		t.Fatal(err)
	}
	w.waitIdle(t)
	return res
}

func (w *world) waitIdle(t *testing.T) {
	t.Helper()
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// task returns the only task call the organization's sensors received.
func (w *world) task(t *testing.T) lctest.TaskRecord {
	t.Helper()
	tasks := w.org.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks = %+v, want one", tasks)
	}
	return tasks[0]
}

// reply delivers, as the replicant rule would, a detection for an event
// answering the task with investigationID, and returns the response.
func (w *world) reply(t *testing.T, investigationID, eventType string, payload map[string]any) lctest.Response {
	t.Helper()
	routing := lctest.Routing{
		OID: w.org.OID, SID: w.host.SID, Hostname: w.host.Hostname(), EventType: eventType, EventTime: time.Now().UnixMilli(),
		EventID: "e1", Plat: w.host.Platform(), Arch: w.host.Arch(), Tags: []string{}, InvestigationID: investigationID,
	}
	res, err := w.reg.Deliver(t.Context(), "detection", w.org, lctest.Detection{
		Cat: "__svc-" + name + "-ex", Source: "dr-managed", Routing: routing, Detect: payload,
		DetectID: "d1", Namespace: "managed", SourceRule: "svc-" + name + "-ex", GenTime: time.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// job returns the job id, merged across every response.
func (w *world) job(t *testing.T, id string) lctest.Job {
	t.Helper()
	j, ok := w.reg.Job(id)
	if !ok {
		t.Fatalf("job %s never seen", id)
	}
	return j
}

// faults counts the API calls the fault hook acted on.
func (w *world) faults() int {
	n := 0
	for _, a := range w.cloud.Activities() {
		if a.Kind == lctest.ActivityFault {
			n++
		}
	}
	return n
}

// gate makes the sensor's answers to command wait until release is
// called, so a test can act while a task is pending.
func gate(t *testing.T, s *lctest.Sensor, command string) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	release = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release) // a failing test never leaves the cloud waiting
	s.Answer(command, func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
		<-ch
		return lctest.BuiltinAnswer(s, cmd)
	})
	return release
}

// lockedBuffer collects the logs of concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
