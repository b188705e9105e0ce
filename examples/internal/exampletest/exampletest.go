// Package exampletest runs an example as its own process, for the examples'
// black-box tests: they drive the built binary only through the wire
// protocol, as LimaCharlie would.
package exampletest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start builds the main package in the current directory, runs it on a free
// loopback port with env added to the environment (PORT is set), waits until
// it accepts connections and returns its base URL. At the end of the test it
// sends SIGINT and expects a clean exit; on failure the process output is logged.
func Start(t testing.TB, env ...string) string {
	t.Helper()
	return Run(t, Options{Env: env}).URL
}

// Options say how Run starts the example.
type Options struct {
	// Env is added to the environment (PORT is set).
	Env []string
	// MaxOpenFiles, when positive, is the process's open-file limit (soft
	// and hard), set by a shell's ulimit before the example starts.
	MaxOpenFiles int
}

// Process is an example running as its own process.
type Process struct {
	URL  string // its base URL, http://127.0.0.1:PORT/
	Addr string // 127.0.0.1:PORT
	Cmd  *exec.Cmd

	exited chan struct{}
	err    error // how it exited, once exited is closed
	logs   *lockedBuffer
}

// Run is Start with options, returning the process.
func Run(t testing.TB, o Options) *Process {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()

	cmd := exec.Command(bin)
	if o.MaxOpenFiles > 0 {
		// exec keeps the process: signals reach the example itself.
		cmd = exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0"`, o.MaxOpenFiles), bin)
	}
	cmd.Env = append(append(os.Environ(), "PORT="+port), o.Env...)
	p := &Process{URL: "http://" + addr + "/", Addr: addr, Cmd: cmd, exited: make(chan struct{}), logs: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			// The test stopped it, and checked how.
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			if ok, err := p.Wait(20 * time.Second); !ok {
				_ = cmd.Process.Kill()
				t.Error("example did not stop on SIGINT")
			} else if err != nil {
				t.Errorf("example exited badly after SIGINT: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("example output:\n%s", p.Logs())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("example exited at start: %v\n%s", p.err, p.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("example never listened on %s\n%s", addr, p.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Wait waits up to d for the process to exit and returns how it did;
// exited is false if it is still running.
func (p *Process) Wait(d time.Duration) (exited bool, err error) {
	select {
	case <-p.exited:
		return true, p.err
	case <-time.After(d):
		return false, nil
	}
}

// Logs returns what the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// RSS returns the process's resident memory now and at its peak (VmRSS
// and VmHWM of /proc/PID/status; Linux only).
func (p *Process) RSS() (now, peak uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb uint64
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			now = kb << 10
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			peak = kb << 10
		}
	}
	return now, peak, nil
}

// lockedBuffer collects process output written from exec's copying goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// StartProcess is Start that also returns the process id, for tests that
// watch the process (its memory, say).
func StartProcess(t testing.TB, env ...string) (url string, pid int) {
	t.Helper()
	p := Run(t, Options{Env: env})
	return p.URL, p.Cmd.Process.Pid
}

// PeakRSS returns the most resident memory process pid has used so far
// (VmHWM), or 0 where /proc does not say.
func PeakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
