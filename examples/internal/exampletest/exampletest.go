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
func Start(t *testing.T, env ...string) string {
	t.Helper()
	url, _ := StartProcess(t, env...)
	return url
}

// StartProcess is Start that also returns the process id, for tests that
// watch the process (its memory, say).
func StartProcess(t *testing.T, env ...string) (url string, pid int) {
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
	cmd.Env = append(append(os.Environ(), "PORT="+port), env...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("example exited badly after SIGINT: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("example did not stop on SIGINT")
		}
		if t.Failed() {
			t.Logf("example output:\n%s", logs.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr + "/", cmd.Process.Pid
		}
		select {
		case err := <-exited:
			t.Fatalf("example exited at start: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("example never listened on %s\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
