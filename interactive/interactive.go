package interactive

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/ratelog"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// ReplyHandler is a continuation: it runs when a sensor answers a task, and
// its response is the answer to the webhook that carried the reply.
type ReplyHandler func(ctx context.Context, r *Reply) service.Response

// Service is an interactive LimaCharlie service: a *service.Service (its
// event handlers, parameters, commands and server are promoted) that also
// tasks sensors and routes their answers to reply handlers. Create it with
// New, register handlers, then serve it like any service.
type Service struct {
	*service.Service

	client     *tasking.Client
	codec      *token.Codec
	clock      tracking.Clock
	pending    tracking.Store[*continuation]
	orgs       orgStore
	defaultTTL time.Duration
	timeoutRun time.Duration
	orphan     ReplyHandler

	mu       sync.RWMutex
	handlers map[string]ReplyHandler
	timeouts map[string]TimeoutHandler

	// ext is the extension transport when the service is served as an
	// extension (nil on the service protocol); ended then remembers the
	// tasks that ended in this process, so a timeout fires once, and local
	// the tasks whose timeout this process's own timer will fire.
	ext   *extension.Transport
	ended tracking.Store[struct{}]
	local localTasks

	// With a shared store (WithRedisURL): this process's id among the
	// replicas, the Redis half of the pending store and the relay.
	replica string
	shared  *sharedPending
	relay   *relay

	counters   counters
	refusedLog ratelog.Gate // replies refused or expired
	orphanLog  ratelog.Gate // replies nobody claimed
}

// Option configures New.
type Option func(*config)

type config struct {
	svcOpts    []service.Option
	apiURL     string
	client     *tasking.Client
	clock      tracking.Clock
	defaultTTL time.Duration
	capacity   int
	timeoutRun time.Duration
	orphan     ReplyHandler
	redisURL   string
}

// WithServiceOptions passes options to the underlying service.New (logging,
// trace, body limit, version, …).
func WithServiceOptions(opts ...service.Option) Option {
	return func(c *config) { c.svcOpts = append(c.svcOpts, opts...) }
}

// WithAPIURL points every call the service makes — tasks and D&R rules — at
// the REST API at url, without the /v1 suffix: an emulated cloud in tests
// and local runs (lctest.Cloud.URL, lcsim emulate), a regional endpoint in
// production. An empty url keeps https://api.limacharlie.io, so a program
// may pass os.Getenv("LC_API_URL") as it is.
func WithAPIURL(url string) Option { return func(c *config) { c.apiURL = url } }

// WithClient sets the REST client itself, for control over retries, the
// HTTP client or legacy rule storage. It cannot be combined with WithAPIURL:
// give the client tasking.WithBaseURL instead.
func WithClient(cl *tasking.Client) Option { return func(c *config) { c.client = cl } }

// WithClock sets the time source of tokens and timeouts (default the
// system clock). Tests pass a *tracking.ManualClock and move time with
// Advance instead of sleeping through TTLs.
func WithClock(clk tracking.Clock) Option { return func(c *config) { c.clock = clk } }

// WithDefaultTTL sets how long a task waits for its answer unless the task
// says otherwise (default 10 minutes).
func WithDefaultTTL(d time.Duration) Option { return func(c *config) { c.defaultTTL = d } }

// WithCapacity bounds the pending continuations held in memory (default
// 10000). What is evicted for space is counted; its named handler, if any,
// still serves the late reply. A pending task costs about 220 bytes of
// heap when its sensor and job ids are UUIDs, besides what its closures
// capture and its state, so a million cost about 220 MB.
func WithCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// WithOrphanHandler handles verified replies that neither a pending closure
// nor a named handler claims (default: log and answer success, so the cloud
// does not redeliver).
func WithOrphanHandler(h ReplyHandler) Option { return func(c *config) { c.orphan = h } }

// WithRedisURL shares the service's state among its replicas through the
// Redis server at url (redis://[[user]:password@]host[:port][/db], see
// tracking.RedisFromURL): pending tasks, which any replica resolves or
// times out exactly once; de-duplication of redelivered messages; each
// organization's latest JWT; and the job updates of timeouts, kept until a
// response to their organization carries them. Keys start with
// "lcservice:{NAME}:", so services can share one Redis. New fails if Redis
// does not answer. An empty url keeps everything in this process's memory,
// so a program may pass os.Getenv("LC_REDIS_URL") as it is. See "Running
// several replicas" in the package documentation.
func WithRedisURL(url string) Option { return func(c *config) { c.redisURL = url } }

// WithTimeoutBudget bounds how long a timeout handler may run (default 1 minute).
func WithTimeoutBudget(d time.Duration) Option { return func(c *config) { c.timeoutRun = d } }

var handlerName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// New returns an interactive service named name (lowercase letters,
// digits, '-' and '_'), whose webhooks are signed with secret. The secret
// also keys the tokens that tie answers to tasks, so it may not be empty.
//
// The service stores its replicant D&R rule when an organization installs
// it, again on every org_per_1h tick (so a rule deleted by hand heals), and
// deletes it on uninstall. Handlers registered for those events still run,
// and their response is the one sent.
func New(name, secret string, opts ...Option) (*Service, error) {
	cfg := config{defaultTTL: 10 * time.Minute, capacity: 10000, timeoutRun: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.defaultTTL <= 0:
		return nil, fmt.Errorf("interactive: default TTL %v: use a positive duration", cfg.defaultTTL)
	case cfg.capacity <= 0:
		return nil, fmt.Errorf("interactive: capacity %d: use a positive number", cfg.capacity)
	case cfg.timeoutRun <= 0:
		return nil, fmt.Errorf("interactive: timeout budget %v: use a positive duration", cfg.timeoutRun)
	case secret == "":
		return nil, errors.New("interactive: empty shared secret: an interactive service signs its task tokens with it; set the secret configured in LimaCharlie (e.g. from LC_SHARED_SECRET)")
	case cfg.client != nil && cfg.apiURL != "":
		return nil, errors.New("interactive: WithClient and WithAPIURL both given: set the base URL on the client with tasking.WithBaseURL")
	}
	var rdb *redis.Client
	if cfg.redisURL != "" {
		var err error
		if rdb, err = connectRedis(cfg.redisURL); err != nil {
			return nil, err
		}
		dedup, err := sharedDeliveries(rdb, name)
		if err != nil {
			closeRedis(rdb)
			return nil, err
		}
		cfg.svcOpts = append([]service.Option{dedup}, cfg.svcOpts...)
	}
	svc, err := service.New(name, secret, cfg.svcOpts...)
	if err != nil {
		closeRedis(rdb)
		return nil, err
	}
	codec, err := token.NewCodec(name, []byte(secret))
	if err != nil {
		return nil, err
	}
	s := &Service{
		Service:    svc,
		client:     cfg.client,
		codec:      codec,
		clock:      cfg.clock,
		orgs:       newOrgState(),
		defaultTTL: cfg.defaultTTL,
		timeoutRun: cfg.timeoutRun,
		orphan:     cfg.orphan,
		handlers:   map[string]ReplyHandler{},
		timeouts:   map[string]TimeoutHandler{},
	}
	if s.client == nil {
		s.client = tasking.NewClient(tasking.WithBaseURL(cfg.apiURL))
	}
	if err := s.instrument(); err != nil {
		return nil, err
	}
	if s.clock == nil {
		s.clock = tracking.SystemClock()
	}
	if s.orphan == nil {
		s.orphan = s.defaultOrphan
	}
	if rdb != nil {
		err = s.share(rdb, cfg.capacity)
	} else {
		s.pending, err = tracking.New(tracking.Options[*continuation]{
			Capacity:  cfg.capacity,
			TTL:       cfg.defaultTTL,
			OnTimeout: s.timedOut,
			OnEvict: func(e tracking.Entry[*continuation]) {
				s.counters.evicted.Add(1)
				s.local.forget(e.ID) // its timeout is now the continuation's to fire
			},
			Clock: s.clock,
		})
		if err == nil {
			svc.OnShutdown(func(context.Context) { _ = s.pending.Close() })
		}
	}
	if err != nil {
		closeRedis(rdb)
		return nil, err
	}
	svc.Use(s.everyEvent)
	if x := extension.Of(svc); x != nil {
		// Replies arrive as ReplyAction requests and the rule is stored
		// again on update: no detection subscription, no hourly tick.
		if err := s.adaptToExtension(x, cfg.capacity); err != nil {
			return nil, err
		}
		svc.Use(s.onInstall, service.OrgInstall)
	} else {
		svc.SubscribeDetections(token.DetectionName(name))
		svc.Use(s.onInstall, service.OrgInstall, service.OrgPer1h)
	}
	svc.Use(s.onUninstall, service.OrgUninstall)
	svc.Use(s.onDetection, service.Detection)
	return s, nil
}

// HandleReply registers a named reply handler. A task sent with Via(name)
// is answered by it when no closure is pending for the reply — after a
// restart, or on another replica — so register every name at start-up, on
// every replica. A name must be 1-64 of A-Z a-z 0-9 _ . -; an invalid name
// or a nil handler panics, like the service's registration methods.
func (s *Service) HandleReply(name string, h ReplyHandler) {
	if !handlerName.MatchString(name) {
		panic(fmt.Sprintf("interactive: HandleReply: handler name %q: use 1-64 of A-Z a-z 0-9 _ . -", name))
	}
	if h == nil {
		panic(fmt.Sprintf("interactive: HandleReply: nil handler for %q", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[name] = h
}

// HandleTimeout registers the timeout handler of the tasks sent with
// Via(name), for when the process that handles the timeout holds no
// OnTimeout closure for the task: the task was sent by another process,
// or before a restart (on extensions, a continuation carries every task's
// timeout to whichever replica receives it), or without OnTimeout. Register
// it at start-up, on every replica, under the name of a reply handler. An
// invalid name or a nil handler panics.
func (s *Service) HandleTimeout(name string, h TimeoutHandler) {
	if !handlerName.MatchString(name) {
		panic(fmt.Sprintf("interactive: HandleTimeout: handler name %q: use 1-64 of A-Z a-z 0-9 _ . -", name))
	}
	if h == nil {
		panic(fmt.Sprintf("interactive: HandleTimeout: nil handler for %q", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeouts[name] = h
}

// timeoutHandlerFor returns c's timeout closure, else the timeout handler
// registered under its handler name, else nil (the default).
func (s *Service) timeoutHandlerFor(c *continuation) TimeoutHandler {
	if c.onTimeout != nil || c.handler == "" {
		return c.onTimeout
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.timeouts[c.handler]
}

func (s *Service) replyHandler(name string) ReplyHandler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[name]
}

// everyEvent remembers each organization's latest JWT, gives the tasks
// the handler sends ids derived from the message (see identity.go), and
// sends queued job updates with the next successful response to that
// organization (a failed one may be discarded and redelivered).
func (s *Service) everyEvent(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		s.orgs.remember(ctx, req.Org())
		ctx = withOrigin(ctx, "webhook", string(req.EventType), req.OID, req.MessageID)
		resp := next(ctx, req)
		if req.OID != "" && resp.Success {
			if q := s.orgs.take(ctx, req.OID); len(q) > 0 {
				resp = resp.WithJobs(q...)
			}
		}
		return resp
	}
}

// defaultOrphan logs orphan replies (rate-limited: a streaming command's
// late answers can be many) and answers success.
func (s *Service) defaultOrphan(_ context.Context, r *Reply) service.Response {
	if ok, n := s.orphanLog.Allow(time.Now()); ok {
		s.Logger().Info("reply with no pending continuation and no named handler", "task_id", string(r.TaskID), "event_type", r.EventType, "suppressed", n)
	}
	return service.OK(nil)
}
