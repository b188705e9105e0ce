package lctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// ServiceConfig describes a service the cloud delivers webhooks to: an
// in-process Handler, a URL, or in-process Replicas behind a load
// balancer (exactly one of them).
type ServiceConfig struct {
	Name    string       // the service name; its replicant rule is svc-<Name>-ex
	Secret  string       // the shared secret webhooks are signed with
	Handler http.Handler // called in-process
	URL     string       // or POSTed to, e.g. http://127.0.0.1:8080/
	// Replicas runs the service as len(Replicas) in-process replicas,
	// numbered from 0, behind a load balancer: each delivery attempt goes
	// to one running replica, chosen as Balance says. A service given by
	// Handler or URL is one replica, number 0.
	Replicas []http.Handler
	// Balance chooses the replica of each delivery attempt: RoundRobin
	// (the default) or Random.
	Balance Balance
	// Seed seeds Random's choices: runs that deliver the same webhooks one
	// after the other with the same Seed (0 included) choose the same
	// replicas in the same order.
	Seed int64
	// Protocol is the webhook protocol: ServiceProtocol (the default) or
	// Extension.
	Protocol Protocol
	// PlainBody sends an extension's messages uncompressed; by default
	// they are gzip-compressed (Content-Encoding: gzip).
	PlainBody bool
}

// Balance is how the cloud's load balancer chooses the replica of a
// service that gets a delivery attempt. It only ever chooses a running
// replica (see Service.StopReplica).
type Balance int

const (
	// RoundRobin sends each attempt to the next running replica after the
	// one that got the previous attempt, in index order, wrapping around.
	// The first attempt goes to replica 0. The default.
	RoundRobin Balance = iota
	// Random sends each attempt to a running replica chosen uniformly
	// from a generator seeded with ServiceConfig.Seed.
	Random
)

// String names the balancing: "round-robin" or "random".
func (b Balance) String() string {
	switch b {
	case RoundRobin:
		return "round-robin"
	case Random:
		return "random"
	}
	return "Balance(?)"
}

// ErrReplicasStopped is the transport error of a delivery attempt made
// while every replica of the service is stopped, standing in for the
// connection refused a load balancer with no backend answers.
var ErrReplicasStopped = errors.New("lctest: every replica of the service is stopped (connection refused); start one with Service.StartReplica")

// Service is a service registered with the cloud. What it was sent and
// answered is in the cloud's record: Exchanges, Detections and Jobs are
// views of it. Its methods are safe for concurrent use.
type Service struct {
	cloud    *Cloud
	name     string
	secret   []byte
	protocol Protocol
	plain    bool
	balance  Balance

	targetMu sync.Mutex
	replicas []*target  // where webhooks go now, by replica; nil while stopped
	next     int        // RoundRobin: the replica tried first for the next attempt
	rng      *rand.Rand // Random

	mu        sync.Mutex
	subs      []string        // health detect_subscriptions
	callbacks []string        // health callbacks
	installed map[string]bool // by OID
	schema    ExtensionSchema // an extension's answer to schema_request
}

// target is one destination of webhooks, a running replica: an in-process
// handler or a URL, with the deliveries in flight to it.
type target struct {
	handler  http.Handler
	url      string
	inflight sync.WaitGroup
}

// acquire chooses the replica of one delivery attempt as the balancing
// says and counts the attempt in flight to it until inflight.Done. It
// returns a nil target and -1 when every replica is stopped.
func (s *Service) acquire() (*target, int) {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	n := len(s.replicas)
	i := -1
	switch s.balance {
	case Random:
		live := make([]int, 0, n)
		for j, t := range s.replicas {
			if t != nil {
				live = append(live, j)
			}
		}
		if len(live) > 0 {
			i = live[s.rng.IntN(len(live))]
		}
	default:
		for k := range n {
			if j := (s.next + k) % n; s.replicas[j] != nil {
				i = j
				break
			}
		}
		if i >= 0 {
			s.next = (i + 1) % n
		}
	}
	if i < 0 {
		return nil, -1
	}
	t := s.replicas[i]
	t.inflight.Add(1)
	return t, i
}

// Replicas returns how many replicas the service has, running or
// stopped: len(ServiceConfig.Replicas), or 1 for a service given by
// Handler or URL.
func (s *Service) Replicas() int {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	return len(s.replicas)
}

// StopReplica stops replica i, as a process that exits: the load balancer
// sends it no more delivery attempts. It returns once the deliveries in
// flight to it have finished. Stopping a stopped replica does nothing.
// While every replica is stopped, delivery attempts fail with
// ErrReplicasStopped. It fails if i is not a replica's index.
func (s *Service) StopReplica(i int) error {
	s.targetMu.Lock()
	if err := s.checkReplica("StopReplica", i); err != nil {
		s.targetMu.Unlock()
		return err
	}
	old := s.replicas[i]
	s.replicas[i] = nil
	s.targetMu.Unlock()
	if old != nil {
		old.inflight.Wait()
	}
	return nil
}

// StartReplica starts replica i with h, as a new process: later delivery
// attempts the balancing sends to replica i go to h. If replica i is
// running, h replaces it, and StartReplica returns once the deliveries in
// flight to the replaced one have finished. It fails if i is not a
// replica's index or h is nil.
func (s *Service) StartReplica(i int, h http.Handler) error {
	if h == nil {
		return fmt.Errorf("lctest: StartReplica(%d) of service %q: the handler is nil", i, s.name)
	}
	s.targetMu.Lock()
	if err := s.checkReplica("StartReplica", i); err != nil {
		s.targetMu.Unlock()
		return err
	}
	old := s.replicas[i]
	s.replicas[i] = &target{handler: h}
	s.targetMu.Unlock()
	if old != nil {
		old.inflight.Wait()
	}
	return nil
}

// checkReplica reports an index that names no replica; targetMu is held.
func (s *Service) checkReplica(op string, i int) error {
	if i < 0 || i >= len(s.replicas) {
		return fmt.Errorf("lctest: %s(%d): service %q has replicas 0 to %d", op, i, s.name, len(s.replicas)-1)
	}
	return nil
}

// SetHandler sends later webhooks to h, as a restarted process behind the
// same address would receive them, and returns once the deliveries in
// flight to the previous handler or URL have finished. Use it to test that
// a service picks up where a previous instance left off. A nil h is
// ignored.
//
// For a service with several replicas, SetHandler is StartReplica(0, h):
// it starts or replaces replica 0 only.
func (s *Service) SetHandler(h http.Handler) {
	if h == nil {
		return
	}
	_ = s.StartReplica(0, h) // 0 always names a replica
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
	set := 0
	for _, given := range []bool{cfg.Handler != nil, cfg.URL != "", len(cfg.Replicas) > 0} {
		if given {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("lctest: Register %q: set exactly one of ServiceConfig.Handler, ServiceConfig.URL and ServiceConfig.Replicas", cfg.Name)
	}
	for i, h := range cfg.Replicas {
		if h == nil {
			return nil, fmt.Errorf("lctest: Register %q: ServiceConfig.Replicas[%d] is nil; give every replica a handler", cfg.Name, i)
		}
	}
	if cfg.Balance != RoundRobin && cfg.Balance != Random {
		return nil, fmt.Errorf("lctest: Register %q: ServiceConfig.Balance %d is neither RoundRobin nor Random", cfg.Name, int(cfg.Balance))
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
		installed: map[string]bool{},
		protocol:  cfg.Protocol,
		plain:     cfg.PlainBody,
		balance:   cfg.Balance,
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0)),
	}
	if len(cfg.Replicas) > 0 {
		for _, h := range cfg.Replicas {
			s.replicas = append(s.replicas, &target{handler: h})
		}
	} else {
		s.replicas = []*target{{handler: cfg.Handler, url: cfg.URL}}
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
