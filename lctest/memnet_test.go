package lctest

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// memNet is an in-memory network for tests in a synctest bubble, where a
// goroutine reading a real socket is never durably blocked: listeners
// reached by address, and connections made of net.Pipe.
type memNet struct {
	mu        sync.Mutex
	listeners map[string]*memListener
}

func newMemNet() *memNet { return &memNet{listeners: map[string]*memListener{}} }

// listen returns a new listener with an address of its own.
func (n *memNet) listen() *memListener {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := &memListener{
		addr:  memAddr(fmt.Sprintf("127.0.0.1:%d", 10000+len(n.listeners))),
		conns: make(chan net.Conn),
		done:  make(chan struct{}),
	}
	n.listeners[l.addr.String()] = l
	return l
}

// dial connects to the listener at addr; it is an http.Transport's
// DialContext.
func (n *memNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[addr]
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: network, Addr: memAddr(addr), Err: syscall.ECONNREFUSED}
	if l == nil {
		return nil, refused
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
		refused.Err = ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, refused
}

type memListener struct {
	addr  memAddr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

type memAddr string

func (memAddr) Network() string  { return "tcp" }
func (a memAddr) String() string { return string(a) }

// inBubble reports whether the caller runs in a synctest bubble.
func inBubble() bool {
	buf := make([]byte, 256)
	_, bubble := goroutineHeader(string(buf[:runtime.Stack(buf, false)]))
	return bubble != ""
}

// bubbleGoroutines returns, by goroutine id, the stacks of the goroutines
// in the caller's synctest bubble other than the caller (the bubble also
// holds synctest's own). Called right after synctest.Wait, when every
// other goroutine of the bubble has exited or is durably blocked, those it
// returns that an earlier call did not are exactly the ones left behind
// since: see startedSince.
func bubbleGoroutines(t *testing.T) map[string]string {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := strings.Split(string(buf), "\n\n")
	// The caller's own stack comes first.
	_, bubble := goroutineHeader(stacks[0])
	if bubble == "" {
		t.Fatal("bubbleGoroutines called outside a synctest bubble")
	}
	in := map[string]string{}
	for _, s := range stacks[1:] {
		if id, b := goroutineHeader(s); b == bubble {
			in[id] = s
		}
	}
	return in
}

// startedSince returns the stacks of the goroutines in the caller's bubble
// that were not in it at before (a bubbleGoroutines).
func startedSince(t *testing.T, before map[string]string) []string {
	t.Helper()
	var started []string
	for id, s := range bubbleGoroutines(t) {
		if _, old := before[id]; !old {
			started = append(started, s)
		}
	}
	return started
}

// goroutineHeader reads a goroutine's id and synctest bubble ("" if none)
// from the first line of its stack: "goroutine 7 [chan receive (durable),
// synctest bubble 1]:".
func goroutineHeader(stack string) (id, bubble string) {
	line, _, _ := strings.Cut(stack, "\n")
	if m := goroutineID.FindStringSubmatch(line); m != nil {
		id = m[1]
	}
	if m := goroutineBubble.FindStringSubmatch(line); m != nil {
		bubble = m[1]
	}
	return id, bubble
}

var (
	goroutineID     = regexp.MustCompile(`^goroutine (\d+) \[`)
	goroutineBubble = regexp.MustCompile(`, synctest bubble (\d+)\b`)
)
