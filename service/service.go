package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/lcsvc/lcservice/internal/ratelog"
	"github.com/lcsvc/lcservice/internal/wire"
)

// HandlerFunc handles one webhook. ctx ends at the envelope's deadline.
type HandlerFunc func(ctx context.Context, req *Request) Response

// Middleware wraps handlers; see Service.Use.
type Middleware func(next HandlerFunc) HandlerFunc

// Service is a LimaCharlie service: register handlers on it, then serve it.
// It is an http.Handler. Configure it before serving; registration methods are
// not meant to be called while requests are in flight.
type Service struct {
	name    string
	secret  []byte
	version int

	insecure        bool
	trace           bool
	maxBody         int64
	bodyBudget      int64
	minRate         int64
	maxConns        int
	shutdownTimeout time.Duration
	drainDelay      time.Duration
	log             *slog.Logger
	logLevel        slog.Leveler
	noMetrics       bool
	pprofAddr       string
	pprofBound      atomic.Value // string: the pprof listener's address while Serve runs
	metrics         metrics
	logOut, logErr  interface{ Write([]byte) (int, error) }

	mu            sync.RWMutex
	handlers      map[EventType]HandlerFunc
	middleware    []layer
	params        Params
	commands      map[string]Command
	resources     map[string]resource
	subscriptions []string
	startup       []func(context.Context) error
	shutdown      []func(context.Context)

	startTime  time.Time
	inProgress atomic.Int64
	router     *mux.Router

	pace       struct{ grace, stall time.Duration } // bodyGrace and bodyStall
	budget     *bodyBudget
	bufs       *bufPool
	stats      counters
	refusedLog ratelog.Gate
	limitLog   ratelog.Gate
	dedupLog   ratelog.Gate

	deliveries    DeliveryStore               // nil: no de-duplication
	deliveriesSet bool                        // WithDeliveryStore was given
	draining      atomic.Bool                 // Serve is stopping: /readyz answers 503
	closing       atomic.Bool                 // Serve's listener is closed: answers close their connection
	aborted       atomic.Bool                 // Serve cancelled handlers at the end of its timeout
	conns         atomic.Pointer[connLimiter] // set while Serve runs

	start starter
	bg    background

	// proto is the webhook protocol the front door serves: the service
	// protocol unless an option (such as the extension package's) set
	// another.
	proto wire.Protocol
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// New returns a service. name identifies it in LimaCharlie (lowercase letters,
// digits, '-' and '_'); secret is the shared secret that signs every webhook.
// An empty secret is refused unless WithInsecureNoSecret is passed.
func New(name, secret string, opts ...Option) (*Service, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("service name %q: use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	s := &Service{
		name:            name,
		secret:          []byte(secret),
		version:         1,
		maxBody:         DefaultMaxBodyBytes,
		minRate:         DefaultMinBodyRate,
		maxConns:        DefaultMaxConnections,
		shutdownTimeout: DefaultShutdownTimeout,
		drainDelay:      DefaultDrainDelay,
		logOut:          os.Stdout,
		logErr:          os.Stderr,
		handlers:        map[EventType]HandlerFunc{},
		params:          Params{},
		commands:        map[string]Command{},
		resources:       map[string]resource{},
		startTime:       time.Now(),
	}
	for _, o := range opts {
		o(s)
	}
	if secret == "" && !s.insecure {
		return nil, errors.New("empty shared secret: set the secret configured in LimaCharlie (e.g. from LC_SHARED_SECRET), or pass WithInsecureNoSecret for local experiments")
	}
	if err := s.checkLimits(); err != nil {
		return nil, err
	}
	if s.log == nil {
		lvl := s.logLevel
		if lvl == nil {
			lvl = slog.LevelInfo
		}
		s.log = slog.New(NewLogHandler(name, s.logOut, s.logErr, lvl))
	}
	if !s.deliveriesSet {
		s.deliveries = NewDeliveryCache(0, 0, 0)
	}
	s.pace.grace, s.pace.stall = bodyGrace, bodyStall
	s.budget = newBodyBudget(s.bodyBudget)
	s.bufs = newBufPool(s.maxBody)
	s.bg.init()
	s.initMetrics()
	if s.proto == nil {
		s.proto = serviceProtocol{s}
	}
	if err := s.proto.Check(); err != nil {
		return nil, err
	}
	s.router = s.newRouter()
	return s, nil
}

// checkLimits validates the limits options set and fills in the budget.
func (s *Service) checkLimits() error {
	switch {
	case s.maxBody <= 0:
		return fmt.Errorf("max body bytes must be positive, got %d", s.maxBody)
	case s.minRate <= 0:
		return fmt.Errorf("minimum body rate must be positive, got %d bytes/s", s.minRate)
	case s.maxConns <= 0:
		return fmt.Errorf("max connections must be positive, got %d", s.maxConns)
	case s.shutdownTimeout <= 0:
		return fmt.Errorf("shutdown timeout must be positive, got %v", s.shutdownTimeout)
	case s.drainDelay < 0 || s.drainDelay >= s.shutdownTimeout:
		return fmt.Errorf("drain delay %v: use 0 or more, less than the shutdown timeout %v", s.drainDelay, s.shutdownTimeout)
	}
	if s.bodyBudget == 0 {
		s.bodyBudget = max(DefaultBodyBudget, 2*s.maxBody)
	}
	// Large bodies may use seven eighths of the budget; the largest body
	// allowed must fit in that.
	if need := (s.maxBody + 1<<20) * 8 / 7; s.bodyBudget < need {
		return fmt.Errorf("body budget %d bytes is too small for bodies of up to %d bytes: use at least %d", s.bodyBudget, s.maxBody, need)
	}
	return nil
}

// Name returns the service name.
func (s *Service) Name() string { return s.name }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.log }

// Registration methods (Handle, the On… methods, Use, AddCommand,
// SetRequestParams, PublishResource, SubscribeDetections, OnStartup,
// OnShutdown) configure the service before it serves. Like net/http's
// ServeMux, they panic on a programming error — a nil handler, an unknown
// event type, an invalid schema — with a message that says what to change;
// they never fail for a reason outside the code.

// Handle registers h for etype, replacing any previous handler. Health,
// get_resource and command are answered by the service itself (see
// PublishResource and AddCommand); registering them panics.
func (s *Service) Handle(etype EventType, h HandlerFunc) {
	switch {
	case !etype.Known():
		panic(fmt.Sprintf("service: Handle: unknown event type %q", etype))
	case etype == Health || etype == GetResource || etype == CommandEvent:
		panic(fmt.Sprintf("service: Handle: %s is answered by the service itself; use PublishResource or AddCommand", etype))
	case h == nil:
		panic(fmt.Sprintf("service: Handle: nil handler for %s", etype))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[etype] = h
}

// OnOrgInstall handles an organization installing the service.
func (s *Service) OnOrgInstall(h HandlerFunc) { s.Handle(OrgInstall, h) }

// OnOrgUninstall handles an organization removing the service.
func (s *Service) OnOrgUninstall(h HandlerFunc) { s.Handle(OrgUninstall, h) }

// OnDetection handles detections the service subscribed to (SubscribeDetections).
func (s *Service) OnDetection(h HandlerFunc) { s.Handle(Detection, h) }

// OnRequest handles a user's request; its data is validated against SetRequestParams first.
func (s *Service) OnRequest(h HandlerFunc) { s.Handle(RequestEvent, h) }

// OnDeploymentEvent handles sensor deployment events.
func (s *Service) OnDeploymentEvent(h HandlerFunc) { s.Handle(DeploymentEvent, h) }

// OnLogEvent handles log events.
func (s *Service) OnLogEvent(h HandlerFunc) { s.Handle(LogEvent, h) }

// OnServiceError handles errors the cloud reports about this service.
func (s *Service) OnServiceError(h HandlerFunc) { s.Handle(ServiceError, h) }

// OnNewSensor handles a sensor enrolling in an organization.
func (s *Service) OnNewSensor(h HandlerFunc) { s.Handle(NewSensor, h) }

// OnTick handles a cron event type: org_per_*, once_per_* or sensor_per_*.
// Any other event type panics.
func (s *Service) OnTick(etype EventType, h HandlerFunc) {
	if !etype.Cron() {
		panic(fmt.Sprintf("service: OnTick: %q is not a cron event type (org_per_*, once_per_* or sensor_per_*)", etype))
	}
	s.Handle(etype, h)
}

// Use adds m around the handlers of the given event types, or of every
// event type but health when none is given. The first Use is the
// outermost. m runs for every such event and calls next to run the
// handler; when no handler is registered, next answers success. An event
// type named here counts as implemented (health lists it in callbacks):
// layers such as the interactive package use this to answer events whose
// handler the user may or may not register. Health cannot be wrapped.
func (s *Service) Use(m Middleware, etypes ...EventType) {
	if m == nil {
		panic("service: Use: nil middleware")
	}
	for _, e := range etypes {
		if !e.Known() || e == Health {
			panic(fmt.Sprintf("service: Use: cannot wrap event type %q", e))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware = append(s.middleware, layer{m: m, etypes: slices.Clone(etypes)})
}

// SubscribeDetections adds detection names (report names / categories) to
// the service's subscriptions, listed in health.
func (s *Service) SubscribeDetections(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if n != "" && !slices.Contains(s.subscriptions, n) {
			s.subscriptions = append(s.subscriptions, n)
		}
	}
}

// SetRequestParams declares the parameters of request events. Incoming
// requests are validated against them before the handler runs. An invalid
// schema (an unknown type, an enum without values) panics.
func (s *Service) SetRequestParams(ps Params) {
	if err := ps.check(); err != nil {
		panic("service: SetRequestParams: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = ps
}

// OnStartup adds a hook run when the service starts: by ListenAndServe
// before it accepts connections, or by the first webhook when the Service
// is mounted as a plain http.Handler. See Start.
func (s *Service) OnStartup(fn func(ctx context.Context) error) {
	if fn == nil {
		panic("service: OnStartup: nil hook")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startup = append(s.startup, fn)
}

// OnShutdown adds a hook run by Shutdown after background work has stopped.
func (s *Service) OnShutdown(fn func(ctx context.Context)) {
	if fn == nil {
		panic("service: OnShutdown: nil hook")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = append(s.shutdown, fn)
}

// ServeHTTP serves the webhook (POST, any path), GET /healthz and GET
// /readyz.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }
