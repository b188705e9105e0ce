package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/lcsvc/lcservice/lctest"
)

// fleetPlatforms is the order platforms take in a fleet: every three
// sensors hold one of each.
func fleetPlatforms() []lctest.Platform {
	return []lctest.Platform{lctest.Linux, lctest.Windows, lctest.MacOS}
}

// fleetRoles names hosts of each platform as an organization would.
func fleetRoles(p lctest.Platform) []string {
	switch p {
	case lctest.Windows:
		return []string{"win-desk", "win-fin", "win-hr"}
	case lctest.MacOS:
		return []string{"mac-dev", "mac-design", "mac-exec"}
	}
	return []string{"web", "db", "ci"}
}

// sensorLatency is how long a fleet sensor takes to answer a task. Real
// sensors take a moment; here it also puts an answer's job entry in a
// later millisecond than the entry the service wrote before tasking. Job
// histories are ordered by millisecond timestamps, and the detection
// carrying the answer can reach the cloud before the response to the
// request that tasked the sensor: without the delay both entries could
// share a millisecond and show in arrival order, the answer first.
const sensorLatency = 20 * time.Millisecond

// fleet returns n sensor configurations of mixed platforms with hostnames
// like web-1, win-desk-1, mac-dev-1, db-1, …. The same n always gives the
// same fleet, and lctest derives its answers from hostname and platform,
// so every run shows the same packages, processes and files.
func fleet(n int) []lctest.SensorConfig {
	plats := fleetPlatforms()
	out := make([]lctest.SensorConfig, 0, max(n, 0))
	for i := range max(n, 0) {
		p := plats[i%len(plats)]
		roles := fleetRoles(p)
		round := i / len(plats)
		host := fmt.Sprintf("%s-%d", roles[round%len(roles)], round/len(roles)+1)
		out = append(out, lctest.SensorConfig{Hostname: host, Platform: p, Latency: sensorLatency})
	}
	return out
}

// sensorBook maps sensor ids to what a person recognises them by. It is
// filled while the fleet is built and read by the observer.
type sensorBook struct {
	mu      sync.Mutex
	sensors map[string]*lctest.Sensor
}

func newSensorBook() *sensorBook { return &sensorBook{sensors: map[string]*lctest.Sensor{}} }

func (b *sensorBook) add(s *lctest.Sensor) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sensors[s.SID] = s
}

// get returns the sensor with sid, or nil.
func (b *sensorBook) get(sid string) *lctest.Sensor {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sensors[sid]
}

// label names a sensor as "web-1 (linux)", or by its id if it is unknown.
func (b *sensorBook) label(sid string) string {
	if s := b.get(sid); s != nil {
		return fmt.Sprintf("%s (%s)", s.Hostname(), s.Platform())
	}
	return sid
}

// host names a sensor by hostname, or by its id if it is unknown.
func (b *sensorBook) host(sid string) string {
	if s := b.get(sid); s != nil {
		return s.Hostname()
	}
	return sid
}
