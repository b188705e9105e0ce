// Package exampletest runs an example as its own process, for the examples'
// black-box tests: they drive the built binary only through the wire
// protocol, as LimaCharlie would.
package exampletest

import (
	"context"
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

	"github.com/lcsvc/lcservice/internal/testproc"
)

// Start builds the main package in the current directory, runs it on a free
// loopback port with env added to the environment (PORT is set), waits until
// it serves and returns its base URL. At the end of the test it sends SIGINT
// and expects a clean exit; on failure the process output is logged. The
// test package's TestMain must call testproc.Main.
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
	// Production builds the example as deploy/Dockerfile builds the
	// image's binary (static, stripped, without the race detector), for
	// tests that bound the process's memory: the race detector's shadow
	// memory would multiply it.
	Production bool
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

// servingLine is what the service logs once its listener is open.
const servingLine = `"message":"serving"`

// Run is Start with options, returning the process. The example is built
// once per test binary, with the test binary's own flags (testproc.Binary).
// Under -short the test is skipped.
func Run(t testing.TB, o Options) *Process {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs the example as its own process")
	}
	bin := binary(t, o.Production)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()

	// The process outlives a test's context only until the cleanup below
	// has stopped it; testproc kills it if the test binary ends first.
	ctx, kill := context.WithCancel(context.WithoutCancel(t.Context()))
	cmd := testproc.Command(ctx, t, bin)
	if o.MaxOpenFiles > 0 {
		// exec keeps the process: signals reach the example itself.
		cmd = testproc.Command(ctx, t, "sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0"`, o.MaxOpenFiles), bin)
	}
	cmd.Env = append(append(os.Environ(), "PORT="+port), o.Env...)
	p := &Process{URL: "http://" + addr + "/", Addr: addr, Cmd: cmd, exited: make(chan struct{}),
		logs: &lockedBuffer{watch: servingLine, seen: make(chan struct{})}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		kill()
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		defer kill()
		select {
		case <-p.exited:
			// The test stopped it, and checked how.
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			// Its shutdown is bounded by its own timeout (25 s by default).
			if ok, err := p.Wait(time.Minute); !ok {
				t.Error("example did not stop on SIGINT")
			} else if err != nil {
				t.Errorf("example exited badly after SIGINT: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("example output:\n%s", p.Logs())
		}
	})

	// Bounded by the test binary's -timeout (see testproc.Main).
	select {
	case <-p.logs.seen:
		return p
	case <-p.exited:
		t.Fatalf("example exited at start: %v\n%s", p.err, p.Logs())
	}
	return nil // not reached
}

// binary builds the example in the current directory: with the test
// binary's flags, or as the Dockerfile does.
func binary(t testing.TB, production bool) string {
	t.Helper()
	if !production {
		return testproc.Binary(t, ".")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	r, err := testproc.DockerfileRecipe(filepath.Join(root, "deploy", "Dockerfile"), root, map[string]string{"EXAMPLE": filepath.Base(wd)})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := testproc.Build(r.Package, r.Env, r.Flags)
	if err != nil {
		t.Fatal(err)
	}
	return bin
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

// lockedBuffer collects process output written from exec's copying
// goroutines, and closes seen once the output holds watch.
type lockedBuffer struct {
	watch string
	seen  chan struct{}

	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := len(b.buf)
	b.buf = append(b.buf, p...)
	// The watched text may straddle two writes.
	from := max(0, was-len(b.watch))
	if b.watch != "" && strings.Contains(string(b.buf[from:]), b.watch) {
		b.watch = ""
		close(b.seen)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// StartProcess is Start that also returns the process id, for tests that
// watch the process's memory: the example is built as for production
// (Options.Production).
func StartProcess(t testing.TB, env ...string) (url string, pid int) {
	t.Helper()
	p := Run(t, Options{Env: env, Production: true})
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
