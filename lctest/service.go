package lctest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// ServiceConfig describes a service the cloud delivers webhooks to: an
// in-process Handler, or a URL (exactly one of them).
type ServiceConfig struct {
	Name    string       // the service name; its replicant rule is svc-<Name>-ex
	Secret  string       // the shared secret webhooks are signed with
	Handler http.Handler // called in-process
	URL     string       // or POSTed to, e.g. http://127.0.0.1:8080/
	// Protocol is the webhook protocol: ServiceProtocol (the default) or
	// Extension.
	Protocol Protocol
	// PlainBody sends an extension's messages uncompressed; by default
	// they are gzip-compressed (Content-Encoding: gzip).
	PlainBody bool
}

// Service is a service registered with the cloud. What it was sent and
// answered is in the cloud's record: Exchanges, Detections and Jobs are
// views of it. Its methods are safe for concurrent use.
type Service struct {
	cloud    *Cloud
	name     string
	secret   []byte
	protocol Protocol
	plain    bool

	targetMu sync.Mutex
	target   *target // where webhooks go now; SetHandler replaces it

	mu        sync.Mutex
	subs      []string        // health detect_subscriptions
	callbacks []string        // health callbacks
	installed map[string]bool // by OID
	schema    ExtensionSchema // an extension's answer to schema_request
}

// target is one destination of webhooks: an in-process handler or a URL,
// with the deliveries in flight to it.
type target struct {
	handler  http.Handler
	url      string
	inflight sync.WaitGroup
}

// acquire returns the current target, counted in flight until release.
func (s *Service) acquire() *target {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	t := s.target
	t.inflight.Add(1)
	return t
}

// SetHandler sends later webhooks to h, as a restarted process behind the
// same address would receive them, and returns once the deliveries in
// flight to the previous handler or URL have finished. Use it to test that
// a service picks up where a previous instance left off.
func (s *Service) SetHandler(h http.Handler) {
	if h == nil {
		return
	}
	s.targetMu.Lock()
	old := s.target
	s.target = &target{handler: h}
	s.targetMu.Unlock()
	old.inflight.Wait()
}

// Register adds a service to the cloud, as a user registering it would:
// it sends the service a signed health webhook and keeps the
// detect_subscriptions and callbacks of its answer. It fails if the
// configuration is incomplete, the name is taken, or health does not
// succeed.
func (c *Cloud) Register(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.Name == "" {
		return nil, errors.New("lctest: Register: ServiceConfig.Name is empty")
	}
	if (cfg.Handler == nil) == (cfg.URL == "") {
		return nil, fmt.Errorf("lctest: Register %q: set exactly one of ServiceConfig.Handler and ServiceConfig.URL", cfg.Name)
	}
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("lctest: Register %q: URL %q is not an http(s) URL", cfg.Name, cfg.URL)
		}
	}
	s := &Service{
		cloud:     c,
		name:      cfg.Name,
		secret:    []byte(cfg.Secret),
		target:    &target{handler: cfg.Handler, url: cfg.URL},
		installed: map[string]bool{},
		protocol:  cfg.Protocol,
		plain:     cfg.PlainBody,
	}
	if c.service(cfg.Name) != nil {
		return nil, fmt.Errorf("lctest: Register: a service named %q is already registered", cfg.Name)
	}
	if cfg.Protocol == Extension {
		if err := s.registerExtension(ctx); err != nil {
			return nil, fmt.Errorf("lctest: Register extension %q: %w", cfg.Name, err)
		}
	} else if _, err := s.Health(ctx); err != nil {
		return nil, fmt.Errorf("lctest: Register %q: %w", cfg.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, other := range c.services {
		if other.name == cfg.Name {
			return nil, fmt.Errorf("lctest: Register: a service named %q is already registered", cfg.Name)
		}
	}
	c.services = append(c.services, s)
	return s, nil
}

// service returns the registered service named name, or nil.
func (c *Cloud) service(name string) *Service {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.services {
		if s.name == name {
			return s
		}
	}
	return nil
}

// subscribers returns the services installed in org that subscribe to cat.
func (c *Cloud) subscribers(org *Org, cat string) []*Service {
	c.mu.Lock()
	all := slices.Clone(c.services)
	c.mu.Unlock()
	var out []*Service
	for _, s := range all {
		if s.wants(org.OID, cat) {
			out = append(out, s)
		}
	}
	return out
}

func (s *Service) wants(oid, cat string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protocol == ServiceProtocol && s.installed[oid] && slices.Contains(s.subs, cat)
}

// Name returns the service's name.
func (s *Service) Name() string { return s.name }

// Subscriptions returns the detect_subscriptions of the last health answer.
func (s *Service) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}

// Callbacks returns the callbacks (implemented etypes) of the last
// health answer.
func (s *Service) Callbacks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// Installed reports whether the service is installed in org.
func (s *Service) Installed(org *Org) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installed[org.OID]
}

func (s *Service) setInstalled(oid string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.installed[oid] = true
	} else {
		delete(s.installed, oid)
	}
}
