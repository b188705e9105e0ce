package interactive

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// ReplyHandler is a continuation: it runs when a sensor answers a task, and
// its response is the answer to the detection webhook that carried the reply.
type ReplyHandler func(ctx context.Context, r *Reply) service.Response

// Service is an interactive LimaCharlie service. Create it with New.
type Service struct {
	svc        *service.Service
	client     *tasking.Client
	codec      *tasking.Codec
	pending    *tracking.Table[*continuation]
	orgs       *orgState
	defaultTTL time.Duration
	capacity   int
	timeoutRun time.Duration
	orphan     ReplyHandler
	now        func() time.Time

	mu       sync.RWMutex
	handlers map[string]ReplyHandler

	counters counters
}

// Option configures New.
type Option func(*Service)

// WithClient sets the LimaCharlie API client (default: tasking.NewClient(),
// which honours LC_API_URL).
func WithClient(c *tasking.Client) Option { return func(s *Service) { s.client = c } }

// WithDefaultTTL sets how long a task waits for its answer unless the task
// says otherwise (default 10 minutes).
func WithDefaultTTL(d time.Duration) Option { return func(s *Service) { s.defaultTTL = d } }

// WithCapacity bounds the pending continuations held in memory (default
// 10000). What is evicted for space is counted; its named handler, if any,
// still serves the late reply.
func WithCapacity(n int) Option { return func(s *Service) { s.capacity = n } }

// WithOrphanHandler handles verified replies that neither a pending closure
// nor a named handler claims (default: log and answer success, so the cloud
// does not redeliver).
func WithOrphanHandler(h ReplyHandler) Option { return func(s *Service) { s.orphan = h } }

// WithTimeoutBudget bounds how long a timeout handler may run (default 1 minute).
func WithTimeoutBudget(d time.Duration) Option { return func(s *Service) { s.timeoutRun = d } }

var handlerName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// New makes svc interactive: it subscribes svc to the replicant detection and
// manages the replicant rule on org_install, org_per_1h and org_uninstall
// (the user's own handlers for those still run, and their response is the
// one sent). Call it once, before serving.
func New(svc *service.Service, opts ...Option) (*Service, error) {
	if svc == nil {
		return nil, errors.New("interactive.New needs a *service.Service")
	}
	s := &Service{
		svc:        svc,
		orgs:       newOrgState(),
		defaultTTL: 10 * time.Minute,
		capacity:   10000,
		timeoutRun: time.Minute,
		handlers:   map[string]ReplyHandler{},
		now:        time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.defaultTTL <= 0 || s.capacity <= 0 || s.timeoutRun <= 0 {
		return nil, fmt.Errorf("TTL, capacity and timeout budget must be positive (got %v, %d, %v)", s.defaultTTL, s.capacity, s.timeoutRun)
	}
	if len(svc.Secret()) == 0 {
		return nil, errors.New("an interactive service needs a shared secret: its correlation tokens are signed with it")
	}
	codec, err := tasking.NewCodec(svc.Name(), svc.Secret())
	if err != nil {
		return nil, err
	}
	s.codec = codec
	if s.client == nil {
		s.client = tasking.NewClient()
	}
	if s.orphan == nil {
		s.orphan = defaultOrphan
	}
	s.pending, err = tracking.New(tracking.Options[*continuation]{
		Capacity:  s.capacity,
		TTL:       s.defaultTTL,
		OnTimeout: s.timedOut,
		OnEvict:   func(tracking.Entry[*continuation]) { s.counters.evicted.Add(1) },
		Now:       func() time.Time { return s.now() },
	})
	if err != nil {
		return nil, err
	}
	svc.OnShutdown(func(context.Context) { s.pending.Close() })
	svc.SubscribeDetections(tasking.ReplicantDetectionName(svc.Name()))
	svc.Wrap(s.everyEvent)
	for etype, m := range map[service.EventType]service.Middleware{
		service.OrgInstall:   s.onInstall,
		service.OrgPer1h:     s.onHourly,
		service.OrgUninstall: s.onUninstall,
		service.Detection:    s.onDetection,
	} {
		if err := svc.Intercept(etype, m); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Base returns the wrapped service.
func (s *Service) Base() *service.Service { return s.svc }

// Handle registers a named continuation. A task sent with Via(name) is
// answered by it when no closure is pending for the reply — after a restart,
// or on another replica — so register every name at start-up, on every replica.
func (s *Service) Handle(name string, h ReplyHandler) error {
	if !handlerName.MatchString(name) {
		return fmt.Errorf("handler name %q: use 1-64 of A-Z a-z 0-9 _ . -", name)
	}
	if h == nil {
		return fmt.Errorf("nil handler for %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[name] = h
	return nil
}

func (s *Service) handler(name string) ReplyHandler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[name]
}

// everyEvent remembers each organization's latest JWT and sends queued job
// updates with the next successful response to that organization (a failed
// one may be discarded and redelivered).
func (s *Service) everyEvent(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		s.orgs.rememberJWT(req.OID, req.JWT())
		resp := next(ctx, req)
		if req.OID != "" && resp.Success {
			if q := s.orgs.take(req.OID); len(q) > 0 {
				resp = resp.WithJobs(q...)
			}
		}
		return resp
	}
}

func defaultOrphan(_ context.Context, r *Reply) service.Response {
	r.Request.Logger().Info("reply with no pending continuation and no named handler", "correlation_id", r.CorrelationID, "event_type", r.EventType, "sid", r.SID)
	return service.OK(nil)
}

// Stats counts what the interactive layer did since New.
type Stats struct {
	Tasked        int64 // tasks sent
	TaskErrors    int64 // tasks the API refused or that could not be sent
	RoutedClosure int64 // replies delivered to a pending closure
	RoutedNamed   int64 // replies delivered to a named handler
	Orphans       int64 // verified replies nobody claimed
	Refused       int64 // replies whose token was malformed, forged or tampered
	Expired       int64 // replies whose token had expired
	TimedOut      int64 // tasks whose timeout fired
	Evicted       int64 // pending closures evicted for space
	RuleErrors    int64 // failed replicant rule installs or removals
	Pending       tracking.Stats
}

type counters struct {
	tasked, taskErrors, routedClosure, routedNamed, orphans, refused, expired, timedOut, evicted, ruleErrors atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	c := &s.counters
	return Stats{
		Tasked: c.tasked.Load(), TaskErrors: c.taskErrors.Load(),
		RoutedClosure: c.routedClosure.Load(), RoutedNamed: c.routedNamed.Load(), Orphans: c.orphans.Load(),
		Refused: c.refused.Load(), Expired: c.expired.Load(), TimedOut: c.timedOut.Load(),
		Evicted: c.evicted.Load(), RuleErrors: c.ruleErrors.Load(),
		Pending: s.pending.Stats(),
	}
}
