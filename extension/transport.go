package extension

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/internal/wire"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// Defaults of a Transport.
const (
	// DefaultRequestAction is the action that carries the service's
	// request event (OnRequest, SetRequestParams).
	DefaultRequestAction = "request"
	// DefaultDeadline bounds the context of every handler: the extension
	// protocol carries no deadline, so the service protocol's 590 s is kept.
	DefaultDeadline = 590 * time.Second
)

// Actions the transport reserves. Every action whose name starts with
// InternalPrefix is the framework's: D&R rules the transport (or a layer
// such as interactive) stores call back with them. They are listed in the
// schema as not user-facing, and commands may not use the prefix.
const (
	InternalPrefix = "__lcsvc_"
	// DetectionAction carries a detection the service subscribed to.
	DetectionAction = InternalPrefix + "detection"
	// TickActionPrefix, followed by a cron event type such as org_per_1h,
	// carries that tick.
	TickActionPrefix = InternalPrefix + "tick_"
)

// The extension events the transport handles; all three are required.
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
	EventUpdate      = "update"
)

// Transport is the extension protocol serving one service.Service: Serve
// makes one. The service's front door reads, inflates and verifies each
// webhook and hands it over decoded.
type Transport struct {
	cfg config

	svc *service.Service

	mu       sync.RWMutex
	client   *tasking.Client
	idem     IdempotencyStore
	actions  map[string]service.HandlerFunc
	onUpdate []service.HandlerFunc
}

// Option configures a Transport.
type Option func(*config)

type config struct {
	name          string
	requestAction string
	requestDesc   string
	apiURL        string
	client        *tasking.Client
	deadline      time.Duration
	idem          IdempotencyStore
}

// WithExtensionName sets the name the extension is registered under in
// LimaCharlie, which the D&R rules it stores call back (default: the
// service name).
func WithExtensionName(name string) Option { return func(c *config) { c.name = name } }

// WithRequestAction names the action that carries the service's request
// event (default DefaultRequestAction, "request").
func WithRequestAction(name string) Option { return func(c *config) { c.requestAction = name } }

// WithRequestDescription sets the description of the request action shown
// in LimaCharlie (default "<service> request").
func WithRequestDescription(desc string) Option { return func(c *config) { c.requestDesc = desc } }

// WithAPIURL points the transport's REST calls (storing and deleting its D&R
// rules) at url, without /v1; empty keeps the LimaCharlie API. An
// interactive service hands the transport its own client, so set the URL
// there (interactive.WithAPIURL) and this is not needed.
func WithAPIURL(url string) Option { return func(c *config) { c.apiURL = url } }

// WithClient sets the REST client the transport stores its D&R rules with.
func WithClient(cl *tasking.Client) Option { return func(c *config) { c.client = cl } }

// WithDeadline bounds each handler's context (default DefaultDeadline,
// 590 s); the protocol carries no deadline of its own.
func WithDeadline(d time.Duration) Option { return func(c *config) { c.deadline = d } }

// WithIdempotencyStore replaces the in-process store that de-duplicates
// deliveries (default NewMemoryIdempotency with its defaults), e.g. with
// one shared by replicas.
func WithIdempotencyStore(s IdempotencyStore) Option { return func(c *config) { c.idem = s } }

// Serve returns the service option that serves the service as a LimaCharlie
// extension: service.New(name, secret, extension.Serve()). The service's
// limits (service.WithMaxBodyBytes and the others) apply to extension
// webhooks as to the service protocol's, a gzip-compressed body's inflated
// bytes included. A configuration error (a bad request action name, a
// deadline that is not positive) makes service.New fail.
func Serve(opts ...Option) service.Option {
	return func(s *service.Service) {
		cfg := config{requestAction: DefaultRequestAction, deadline: DefaultDeadline}
		for _, o := range opts {
			o(&cfg)
		}
		t := &Transport{cfg: cfg, svc: s, actions: map[string]service.HandlerFunc{}}
		serveWith(s, t)
		s.OnStartup(t.check)
	}
}

var (
	serveWith  = wire.Serve.(func(*service.Service, wire.Protocol))
	protocolOf = wire.ProtocolOf.(func(*service.Service) wire.Protocol)
	dispatch   = wire.Dispatch.(func(*service.Service, context.Context, *service.Request) service.Response)
	newRequest = wire.NewRequest.(func(*service.Service, service.EventType, tasking.Org, json.RawMessage) *service.Request)
)

// Select returns the service option for a protocol named as a program's
// configuration names it (the examples read LC_PROTOCOL): "service" or ""
// keeps the service protocol, "extension" is Serve(opts...).
func Select(protocol string, opts ...Option) (service.Option, error) {
	switch strings.ToLower(strings.TrimSpace(protocol)) {
	case "", "service":
		return func(*service.Service) {}, nil
	case "extension":
		return Serve(opts...), nil
	}
	return nil, fmt.Errorf("protocol %q: use service or extension", protocol)
}

// Of returns the transport serving svc as an extension, or nil when svc
// speaks the service protocol. Layers built on a service (interactive) use
// it to adapt to the protocol.
func Of(svc *service.Service) *Transport {
	t, _ := protocolOf(svc).(*Transport)
	return t
}

var actionName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// Check implements the front door's protocol: service.New calls it once
// the service is built.
func (t *Transport) Check() error {
	switch {
	case t.cfg.deadline <= 0:
		return fmt.Errorf("extension: deadline %v: use a positive duration", t.cfg.deadline)
	case !actionName.MatchString(t.cfg.requestAction) || strings.HasPrefix(t.cfg.requestAction, InternalPrefix):
		return fmt.Errorf("extension: request action %q: use 1-128 of A-Z a-z 0-9 _ . : -, not starting with %s", t.cfg.requestAction, InternalPrefix)
	case t.cfg.client != nil && t.cfg.apiURL != "":
		return errors.New("extension: WithClient and WithAPIURL both given: set the base URL on the client with tasking.WithBaseURL")
	}
	s := t.svc
	if t.cfg.name == "" {
		t.cfg.name = s.Name()
	}
	if t.cfg.requestDesc == "" {
		t.cfg.requestDesc = s.Name() + " request"
	}
	t.idem = t.cfg.idem
	if t.idem == nil {
		t.idem = NewMemoryIdempotency(MemoryIdempotencyOptions{})
	}
	t.client = t.cfg.client
	if t.client == nil && t.cfg.apiURL != "" {
		t.client = tasking.NewClient(tasking.WithBaseURL(t.cfg.apiURL))
	}
	return nil
}

// Name returns the name the extension is registered under in LimaCharlie.
func (t *Transport) Name() string { return t.cfg.name }

// RequestAction returns the action that carries the request event.
func (t *Transport) RequestAction() string { return t.cfg.requestAction }

// HandleAction answers the internal action name (it must start with
// InternalPrefix) with h. h is called directly, not through the service's
// middleware, with a Request whose EventType is service.RequestEvent, whose
// Action is name and whose Data is the action's data; its Response is
// answered as a handler's. The interactive package registers its reply and
// timeout actions this way. A bad name, a nil h or a name registered twice
// panics, like the service's registration methods.
func (t *Transport) HandleAction(name string, h service.HandlerFunc) {
	if !strings.HasPrefix(name, InternalPrefix) || !actionName.MatchString(name) || name == DetectionAction || strings.HasPrefix(name, TickActionPrefix) {
		panic(fmt.Sprintf("extension: HandleAction: %q is not a free internal action name (%s…)", name, InternalPrefix))
	}
	if h == nil {
		panic("extension: HandleAction: nil handler for " + name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.actions[name]; dup {
		panic("extension: HandleAction: " + name + " registered twice")
	}
	t.actions[name] = h
}

// OnUpdate adds h to what runs on each update event (which the platform
// sends about daily to every subscribed organization), after the transport
// has stored its own D&R rules again. The interactive package stores its
// rule again this way. The Request's EventType is "update".
func (t *Transport) OnUpdate(h service.HandlerFunc) {
	if h == nil {
		panic("extension: OnUpdate: nil handler")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onUpdate = append(t.onUpdate, h)
}

// UseClient sets the REST client the transport stores its D&R rules with,
// unless one was configured with WithClient or WithAPIURL. The interactive
// package hands over its own, so one URL configures both.
func (t *Transport) UseClient(c *tasking.Client) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.client == nil && t.cfg.apiURL == "" && c != nil {
		t.client = c
	}
}

// UseIdempotencyStore sets the store that de-duplicates deliveries, unless
// one was configured with WithIdempotencyStore. The interactive package
// hands over one shared through Redis when its replicas share one. Call it
// before the service serves.
func (t *Transport) UseIdempotencyStore(s IdempotencyStore) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.idem == nil && s != nil {
		t.idem = s
	}
}

func (t *Transport) idempotency() IdempotencyStore {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.idem
}

func (t *Transport) restClient() *tasking.Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client == nil {
		t.client = tasking.NewClient()
	}
	return t.client
}

func (t *Transport) action(name string) service.HandlerFunc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.actions[name]
}

func (t *Transport) updateHooks() []service.HandlerFunc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]service.HandlerFunc(nil), t.onUpdate...)
}

// check runs at start-up: it refuses action names that collide, and logs
// what the service registered that has no counterpart on extensions.
func (t *Transport) check(context.Context) error {
	m := t.svc.Metadata()
	for _, c := range m.Commands {
		switch {
		case strings.HasPrefix(c.Name, InternalPrefix):
			return fmt.Errorf("extension: command %q: names starting with %s are reserved", c.Name, InternalPrefix)
		case c.Name == t.cfg.requestAction && m.Implements(service.RequestEvent):
			return fmt.Errorf("extension: command %q has the name of the request action; rename one (WithRequestAction)", c.Name)
		case !actionName.MatchString(c.Name):
			return fmt.Errorf("extension: command %q cannot be an action name: use 1-128 of A-Z a-z 0-9 _ . : -", c.Name)
		}
	}
	var none []string
	for _, e := range m.EventTypes {
		if noCounterpart(e) {
			none = append(none, string(e))
		}
	}
	if len(none) > 0 {
		t.svc.Logger().Warn("served as an extension, these event types have no counterpart and are never delivered", "event_types", none)
	}
	return nil
}

// noCounterpart reports whether e cannot be delivered on extensions.
func noCounterpart(e service.EventType) bool {
	switch e {
	case service.Health, service.OrgInstall, service.OrgUninstall, service.Detection, service.RequestEvent,
		service.CommandEvent, service.ServiceError:
		return false
	}
	return !e.Cron() || scheduleEvent(e) == ""
}
