package lctest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/host"
)

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
	// Dialect is the shape of the built-in answers where the
	// documentation describes a command twice; EventsReference when zero.
	Dialect Dialect
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
	host     *host.Host
	platform Platform
	arch     Arch
	tags     []string
	iid, did string

	mu      sync.Mutex
	online  bool
	latency time.Duration
	answers map[string]Responder
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
	s := &Sensor{
		SID:      newUUID(),
		org:      o,
		host:     host.New(host.Config{Hostname: cfg.Hostname, Platform: cfg.Platform, Dialect: cfg.Dialect}),
		platform: cfg.Platform,
		arch:     cfg.Arch,
		tags:     slices.Clone(cfg.Tags),
		iid:      o.iid,
		did:      newUUID(),
		online:   !cfg.Offline,
		latency:  max(cfg.Latency, 0),
		answers:  maps.Clone(cfg.Answers),
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
func (s *Sensor) Hostname() string { return s.host.Hostname() }

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
	defer c.finish()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()
	c.emit(ctx, s, "", events)
	return ctx.Err()
}

// Events returns the events the sensor emitted so far, in order: the
// ActivityEvent entries of the cloud's record. Numbers in their bodies
// are float64, as encoding/json decodes them.
func (s *Sensor) Events() []SensorEvent {
	var out []SensorEvent
	for _, a := range s.org.cloud.activities(ActivityEvent, func(a *Activity) bool { return a.SID == s.SID }) {
		var e SensorEvent
		if json.Unmarshal(a.Body, &e) == nil {
			out = append(out, e)
		}
	}
	return out
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

// ident is the sensor's identity as its CLOUD_NOTIFICATIONs carry it.
func (s *Sensor) ident() host.Ident {
	return host.Ident{OID: s.org.OID, SID: s.SID, IID: s.iid, Platform: s.platform, Arch: uint32(s.arch)}
}
