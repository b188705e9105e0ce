package lctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/lcsvc/lcservice/lctest/internal/api"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("lctest: the cloud is closed")

// Cloud is an emulated LimaCharlie cloud: the REST API a service calls
// (tasking, D&R rules) served on a loopback httptest.Server, fake sensors
// that answer tasks, a D&R rule store and evaluator per organization,
// signed webhook delivery to registered services, and a record of all of
// it. Its methods are safe for concurrent use.
type Cloud struct {
	server          *httptest.Server
	listener        net.Listener // set by WithListener
	client          *http.Client // delivers webhooks to services given by URL
	faults          *api.Faults
	observer        func(Activity)
	offline         OfflineMode
	detectionShape  DetectionShape
	maxRedeliveries int

	observeMu sync.Mutex // serialises recording and observing
	recordMu  sync.Mutex
	record    []Activity

	idle      *idleTracker
	ctx       context.Context // ended by Close: stops latency timers and deliveries
	cancel    context.CancelFunc
	wg        sync.WaitGroup // background work, awaited by Close
	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool
	orgs     []*Org
	orgByOID map[string]*Org
	orgByJWT map[string]*Org
	sensors  map[string]*Sensor
	services []*Service
	pending  []*pendingContinuation // extension continuations waiting for their delay
}

// New starts an emulated cloud for the test t and closes it when the test
// ends, as t.Cleanup runs.
func New(t testing.TB, opts ...Option) *Cloud {
	t.Helper()
	c := NewCloud(opts...)
	t.Cleanup(c.Close)
	return c
}

// NewCloud starts an emulated cloud on a loopback port. Point a tasking
// client's API base URL at URL; Close it when done. In a test, New does
// both.
func NewCloud(opts ...Option) *Cloud {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cloud{
		maxRedeliveries: DefaultMaxRedeliveries,
		faults:          api.NewFaults(),
		idle:            newIdleTracker(),
		ctx:             ctx,
		cancel:          cancel,
		orgByOID:        map[string]*Org{},
		orgByJWT:        map[string]*Org{},
		sensors:         map[string]*Sensor{},
		client:          &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
	}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	c.server = httptest.NewUnstartedServer(api.New(backend{c}, c.faults))
	if c.listener != nil {
		c.server.Listener.Close()
		c.server.Listener = c.listener
	}
	c.server.Start()
	return c
}

// URL returns the base URL of the REST API, e.g. http://127.0.0.1:41234;
// clients add /v1/….
func (c *Cloud) URL() string { return c.server.URL }

// Close stops the cloud: pending sensor answers are dropped, deliveries
// in progress are cancelled and awaited, and the server is shut down.
// No goroutine of the cloud outlives Close. Close is idempotent.
func (c *Cloud) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		c.server.Close()
		c.client.CloseIdleConnections()
	})
}

// Orgs returns the organizations in the order they were created.
func (c *Cloud) Orgs() []*Org {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.orgs)
}

// begin registers one unit of background work, unless the cloud is
// closed. Every successful begin is paired with finish.
func (c *Cloud) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	c.idle.start()
	return true
}

// finish ends a unit of work registered with begin.
func (c *Cloud) finish() {
	c.idle.done()
	c.wg.Done()
}

// withCloudContext returns a context ended by ctx or by Close.
func (c *Cloud) withCloudContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

func (c *Cloud) addOrg(o *Org) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orgs = append(c.orgs, o)
	c.orgByOID[o.OID] = o
	c.orgByJWT[o.JWT] = o
}

func (c *Cloud) addSensor(s *Sensor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sensors[s.SID] = s
}

// orgByToken returns the organization jwt belongs to.
func (c *Cloud) orgByToken(jwt string) (*Org, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.orgByJWT[jwt]
	return o, ok
}

// org returns the organization oid.
func (c *Cloud) org(oid string) (*Org, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.orgByOID[oid]
	return o, ok
}

func (c *Cloud) sensor(sid string) (*Sensor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sensors[sid]
	return s, ok
}

func newUUID() string { return uuid.NewString() }

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
