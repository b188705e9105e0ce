package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// childPoll is how often a starting child's health is asked for.
const childPoll = 100 * time.Millisecond

// child is a service process lcsim started. It runs in a process group of
// its own (where the platform has them), so stop also ends the processes
// it starts itself, as `go run` does.
type child struct {
	name string // argv[0], for messages
	cmd  *exec.Cmd
	tail *tailWriter
	done chan struct{} // closed once the process has exited and been waited for
	err  error         // how it exited; read after done is closed
}

// startChild starts argv with env added to lcsim's environment (later
// entries win). Its standard output and error go to out; the last few
// KiB of them are also kept for error messages.
func startChild(argv, env []string, out io.Writer) (*child, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to start")
	}
	c := &child{name: argv[0], tail: &tailWriter{max: 4 << 10}, done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(os.Environ(), env...)
	w := io.MultiWriter(out, c.tail)
	c.cmd.Stdout, c.cmd.Stderr = w, w
	// Do not wait for output from processes it left behind.
	c.cmd.WaitDelay = time.Second
	ownProcessGroup(c.cmd)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exitReport says how the child ended and what it printed last; call it
// once it has exited.
func (c *child) exitReport() string {
	how := "exited normally"
	if c.err != nil {
		how = c.err.Error()
	}
	if out := strings.TrimSpace(c.tail.String()); out != "" {
		return fmt.Sprintf("%s; its last output:\n%s", how, out)
	}
	return how + "; it printed nothing"
}

// stop ends the child: SIGTERM to its process group, SIGKILL if it has not
// exited within grace, then SIGKILL to whatever of the group is left. It
// returns once the child has been waited for.
func (c *child) stop(grace time.Duration) {
	if !c.exited() {
		_ = terminate(c.cmd.Process)
		timer := time.NewTimer(grace)
		select {
		case <-c.done:
		case <-timer.C:
			_ = killGroup(c.cmd.Process)
			<-c.done
		}
		timer.Stop()
	}
	_ = killGroup(c.cmd.Process) // what the child started and left running
}

// waitReady polls GET healthURL until it answers HTTP 200, for at most
// limit. It gives up early if the child exits or ctx ends.
func (c *child) waitReady(ctx context.Context, healthURL string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	poll := time.NewTicker(childPoll)
	defer poll.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if ctx.Err() == nil || last == nil { // not the attempt the deadline cut short
			last = err
		}
		select {
		case <-c.done:
			return &childExitError{fmt.Sprintf("%s exited before answering GET %s: %s", c.name, healthURL, c.exitReport())}
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) || c.exited() {
				return ctx.Err()
			}
			return fmt.Errorf("no answer from %s within %s: is %s a service that listens on $PORT? (last error: %v)", healthURL, limit, c.name, last)
		case <-poll.C:
		}
	}
}

// childExitError is an error that tells already how the child exited.
type childExitError struct{ msg string }

func (e *childExitError) Error() string { return e.msg }

// freeLoopbackPort returns a TCP port nothing listens on at the moment,
// for a child to listen on.
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
