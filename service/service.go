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
)

// HandlerFunc handles one webhook. ctx ends at the envelope's deadline.
type HandlerFunc func(ctx context.Context, req *Request) Response

// Middleware wraps the handler of an event type; see Service.Intercept.
type Middleware func(next HandlerFunc) HandlerFunc

// DefaultMaxBodyBytes is the default request-body limit.
const DefaultMaxBodyBytes = 32 << 20

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
	shutdownTimeout time.Duration
	log             *slog.Logger
	logOut, logErr  interface{ Write([]byte) (int, error) }

	mu            sync.RWMutex
	handlers      map[EventType]HandlerFunc
	middleware    map[EventType][]Middleware
	wrappers      []Middleware
	params        Params
	commands      map[string]Command
	resources     map[string]resource
	subscriptions []string
	startup       []func(context.Context) error
	shutdown      []func(context.Context)

	startTime  time.Time
	inProgress atomic.Int64
	router     *mux.Router

	startOnce sync.Once
	startErr  error
	bg        background
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
		shutdownTimeout: 10 * time.Minute,
		logOut:          os.Stdout,
		logErr:          os.Stderr,
		handlers:        map[EventType]HandlerFunc{},
		middleware:      map[EventType][]Middleware{},
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
	if s.maxBody <= 0 {
		return nil, fmt.Errorf("max body bytes must be positive, got %d", s.maxBody)
	}
	if s.log == nil {
		s.log = slog.New(NewLogHandler(name, s.logOut, s.logErr, slog.LevelInfo))
	}
	s.bg.init()
	s.router = s.newRouter()
	return s, nil
}

// Name returns the service name.
func (s *Service) Name() string { return s.name }

// Secret returns the shared secret, for layers that derive keys from it.
func (s *Service) Secret() []byte { return s.secret }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.log }

// Handle registers h for etype, replacing any previous handler. Health,
// get_resource and command are answered by the service itself (see
// PublishResource and AddCommand); registering them is an error.
func (s *Service) Handle(etype EventType, h HandlerFunc) error {
	switch {
	case !etype.Known():
		return fmt.Errorf("unknown event type %q", etype)
	case etype == Health || etype == GetResource || etype == CommandEvent:
		return fmt.Errorf("%s is answered by the service itself; use PublishResource or AddCommand", etype)
	case h == nil:
		return fmt.Errorf("nil handler for %s", etype)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[etype] = h
	return nil
}

// mustHandle is Handle for the typed registration methods, whose etype is
// always valid.
func (s *Service) mustHandle(etype EventType, h HandlerFunc) {
	if err := s.Handle(etype, h); err != nil {
		panic(err) // only reachable with a nil handler: a programming error
	}
}

// OnOrgInstall handles an organization installing the service.
func (s *Service) OnOrgInstall(h HandlerFunc) { s.mustHandle(OrgInstall, h) }

// OnOrgUninstall handles an organization removing the service.
func (s *Service) OnOrgUninstall(h HandlerFunc) { s.mustHandle(OrgUninstall, h) }

// OnDetection handles detections the service subscribed to (SubscribeDetections).
func (s *Service) OnDetection(h HandlerFunc) { s.mustHandle(Detection, h) }

// OnRequest handles a user's request; its data is validated against SetRequestParams first.
func (s *Service) OnRequest(h HandlerFunc) { s.mustHandle(RequestEvent, h) }

// OnDeploymentEvent handles sensor deployment events.
func (s *Service) OnDeploymentEvent(h HandlerFunc) { s.mustHandle(DeploymentEvent, h) }

// OnLogEvent handles log events.
func (s *Service) OnLogEvent(h HandlerFunc) { s.mustHandle(LogEvent, h) }

// OnServiceError handles errors the cloud reports about this service.
func (s *Service) OnServiceError(h HandlerFunc) { s.mustHandle(ServiceError, h) }

// OnNewSensor handles a sensor enrolling in an organization.
func (s *Service) OnNewSensor(h HandlerFunc) { s.mustHandle(NewSensor, h) }

// OnTick handles a cron event type: org_per_*, once_per_* or sensor_per_*.
func (s *Service) OnTick(etype EventType, h HandlerFunc) error {
	switch etype {
	case OrgPer1h, OrgPer3h, OrgPer12h, OrgPer24h, OrgPer7d, OrgPer30d,
		OncePer1h, OncePer3h, OncePer12h, OncePer24h, OncePer7d, OncePer30d,
		SensorPer1h, SensorPer3h, SensorPer12h, SensorPer24h, SensorPer7d, SensorPer30d:
		return s.Handle(etype, h)
	}
	return fmt.Errorf("%q is not a cron event type", etype)
}

// Intercept wraps etype's handler with m: m runs for every such event and
// calls next to run the user's handler (or, if none is registered, a handler
// answering success). Layers such as interactive use it to add behaviour while
// the user's handler still runs. An intercepted etype counts as implemented.
func (s *Service) Intercept(etype EventType, m Middleware) error {
	if !etype.Known() || etype == Health {
		return fmt.Errorf("cannot intercept %q", etype)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware[etype] = append(s.middleware[etype], m)
	return nil
}

// Wrap adds m around the handling of every event except health, whatever
// its etype, without marking any etype implemented. The first Wrap is the
// outermost. Layers use it to see every request of an organization, e.g. to
// attach job updates to the next response.
func (s *Service) Wrap(m Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrappers = append(s.wrappers, m)
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
// requests are validated against them before the handler runs.
func (s *Service) SetRequestParams(ps Params) error {
	if err := ps.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = ps
	return nil
}

// OnStartup adds a hook run once when the service starts (Start, or the first
// request). A hook error stops ListenAndServe.
func (s *Service) OnStartup(fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startup = append(s.startup, fn)
}

// OnShutdown adds a hook run by Shutdown after background work has stopped.
func (s *Service) OnShutdown(fn func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = append(s.shutdown, fn)
}

// Start runs the startup hooks once; later calls return the first result.
// ListenAndServe calls it, and so does the first webhook when the Service is
// mounted as a plain http.Handler.
func (s *Service) Start(ctx context.Context) error {
	s.startOnce.Do(func() {
		if len(s.secret) == 0 {
			s.log.Log(ctx, LevelCritical, "service started WITHOUT signature verification: anyone who can reach it can call it; set a shared secret")
		}
		s.mu.RLock()
		hooks := append([]func(context.Context) error(nil), s.startup...)
		s.mu.RUnlock()
		for _, h := range hooks {
			if err := h(ctx); err != nil {
				s.startErr = fmt.Errorf("startup hook: %w", err)
				s.log.Error("startup failed", "error", s.startErr)
				return
			}
		}
	})
	return s.startErr
}

// ServeHTTP serves the webhook (POST, any path) and GET /healthz.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }
