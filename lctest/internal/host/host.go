package host

import (
	"fmt"
	"sync"
	"time"
)

// Host is a fake machine: an image derived from its hostname and
// platform, and the state commands change (the processes killed). Its
// methods are safe for concurrent use.
type Host struct {
	img     *image
	dialect Dialect
	now     func() time.Time

	mu     sync.Mutex
	killed map[int]bool // PIDs os_kill_process ended
}

// Config describes a host.
type Config struct {
	Hostname string
	Platform Platform
	Dialect  Dialect
	// Now stamps the answers that carry the time they were made
	// (OS_AUTORUNS_REP's TIMESTAMP); nil is time.Now.
	Now func() time.Time
}

// New returns the host cfg describes. Two hosts with the same hostname
// and platform are the same machine.
func New(cfg Config) *Host {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Host{img: newImage(cfg.Hostname, cfg.Platform), dialect: cfg.Dialect, now: now, killed: map[int]bool{}}
}

// Hostname returns the host's name.
func (h *Host) Hostname() string { return h.img.hostname }

// Addresses returns the host's external and internal IP addresses, from
// the documentation ranges 203.0.113.0/24 and 10.0.0.0/8.
func (h *Host) Addresses() (ext, internal string) {
	r := seeded("addresses", h.img.hostname)
	ext = fmt.Sprintf("203.0.113.%d", 1+r.IntN(254))
	internal = fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
	return ext, internal
}

// kill ends pid; it reports whether such a process was running.
func (h *Host) kill(pid int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.killed[pid] || !h.img.hasProcess(pid) {
		return false
	}
	h.killed[pid] = true
	return true
}

// running reports whether pid is a process still running.
func (h *Host) running(pid int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.killed[pid] && h.img.hasProcess(pid)
}

// noSuchProcess is the RECEIPT for a process id that names no process.
func (h *Host) noSuchProcess(pid int) Event {
	code := ErrNoSuchProcess
	if h.img.platform == Windows {
		code = ErrInvalidParameter
	}
	return Receipt(code, fmt.Sprintf("no process with id %d", pid))
}
