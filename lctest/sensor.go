package lctest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Responder answers one command sent to a sensor with the events the
// sensor emits, after the cloud's CLOUD_NOTIFICATION. Returning no event
// simulates a sensor that never answers. A Responder runs on its own
// goroutine and may be called concurrently for different tasks.
type Responder func(s *Sensor, cmd Command) []Event

// SensorConfig describes a fake sensor.
type SensorConfig struct {
	// Hostname seeds the built-in answers, so two sensors with the same
	// hostname and platform answer alike on every run. Empty picks
	// "sensor-<n>", n counting the organization's sensors from 1.
	Hostname string
	// Platform is Windows (the default when zero), Linux or MacOS; any
	// other value is sent in routing as is and answered like Linux.
	Platform Platform
	Arch     Arch     // X64 when zero
	Tags     []string // routing tags
	// Offline starts the sensor offline: tasks to it are answered per the
	// cloud's OfflineMode and never reach it.
	Offline bool
	// Latency delays the sensor's events after each task.
	Latency time.Duration
	// Answers maps a command name to the Responder that answers it,
	// overriding the built-in answer.
	Answers map[string]Responder
}

// Sensor is a fake sensor enrolled in an Org. Its methods are safe for
// concurrent use.
type Sensor struct {
	SID string // random UUID

	org      *Org
	hostname string
	platform Platform
	arch     Arch
	tags     []string
	iid, did string
	extIP    string
	intIP    string
	host     *hostImage

	mu      sync.Mutex
	online  bool
	latency time.Duration
	answers map[string]Responder
	killed  map[int]bool // PIDs os_kill_process ended
}

// AddSensor enrolls a fake sensor in the organization.
func (o *Org) AddSensor(cfg SensorConfig) *Sensor {
	o.mu.Lock()
	n := len(o.sensors) + 1
	o.mu.Unlock()
	if cfg.Hostname == "" {
		cfg.Hostname = fmt.Sprintf("sensor-%d", n)
	}
	if cfg.Platform == 0 {
		cfg.Platform = Windows
	}
	if cfg.Arch == 0 {
		cfg.Arch = X64
	}
	r := seeded("addresses", cfg.Hostname)
	s := &Sensor{
		SID:      newUUID(),
		org:      o,
		hostname: cfg.Hostname,
		platform: cfg.Platform,
		arch:     cfg.Arch,
		tags:     slices.Clone(cfg.Tags),
		iid:      o.iid,
		did:      newUUID(),
		// Documentation ranges: 203.0.113.0/24 (TEST-NET-3) and 10/8.
		extIP:   fmt.Sprintf("203.0.113.%d", 1+r.IntN(254)),
		intIP:   fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254)),
		host:    newHostImage(cfg.Hostname, cfg.Platform),
		online:  !cfg.Offline,
		latency: max(cfg.Latency, 0),
		answers: maps.Clone(cfg.Answers),
		killed:  map[int]bool{},
	}
	if s.tags == nil {
		s.tags = []string{}
	}
	if s.answers == nil {
		s.answers = map[string]Responder{}
	}
	o.cloud.addSensor(s)
	o.mu.Lock()
	o.sensors = append(o.sensors, s)
	o.mu.Unlock()
	return s
}

// Org returns the organization the sensor is enrolled in.
func (s *Sensor) Org() *Org { return s.org }

// Hostname returns the sensor's hostname.
func (s *Sensor) Hostname() string { return s.hostname }

// Platform returns the sensor's platform.
func (s *Sensor) Platform() Platform { return s.platform }

// Arch returns the sensor's architecture.
func (s *Sensor) Arch() Arch { return s.arch }

// Tags returns the sensor's tags.
func (s *Sensor) Tags() []string { return slices.Clone(s.tags) }

// Online reports whether the sensor is online.
func (s *Sensor) Online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online
}

// SetOnline brings the sensor online or takes it offline. Tasks already
// accepted still answer.
func (s *Sensor) SetOnline(online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online = online
}

// Latency returns the delay before the sensor's events.
func (s *Sensor) Latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// SetLatency sets the delay before the events answering later tasks;
// negative is zero.
func (s *Sensor) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// Answer makes r answer the command named command from now on, overriding
// the built-in answer; a nil r restores the built-in one.
func (s *Sensor) Answer(command string, r Responder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == nil {
		delete(s.answers, command)
		return
	}
	s.answers[command] = r
}

// Emit has the sensor emit events of its own accord (no task, no
// investigation_id), as if something happened on the host. They run
// through the organization's rules and any detection is delivered before
// Emit returns. It fails if ctx ends first or the cloud is closed.
func (s *Sensor) Emit(ctx context.Context, events ...Event) error {
	c := s.org.cloud
	if !c.begin() {
		return ErrClosed
	}
	defer c.idle.done()
	defer c.wg.Done()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()
	c.emit(ctx, s, "", events)
	return ctx.Err()
}

// state returns what a task needs of the sensor's mutable settings.
func (s *Sensor) state() (online bool, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online, s.latency
}

// responder returns the override for command, if any.
func (s *Sensor) responder(command string) Responder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers[command]
}

// kill ends pid on the fake host; it reports whether such a process ran.
func (s *Sensor) kill(pid int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed[pid] || !s.host.hasProcess(pid) {
		return false
	}
	s.killed[pid] = true
	return true
}

// running reports whether pid is a process still running on the host.
func (s *Sensor) running(pid int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.killed[pid] && s.host.hasProcess(pid)
}
