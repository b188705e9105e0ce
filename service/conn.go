package service

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConnections is how many connections ListenAndServe keeps open
// at once unless WithMaxConnections says otherwise. Either way the cap is
// lowered to fit the process's open-file limit, with room to spare for
// the calls the service makes.
const DefaultMaxConnections = 512

// idleQuiet is how long a connection must have been idle before stopping
// closes it (see closeIdle).
const idleQuiet = 250 * time.Millisecond

// handshakeGrace is how long stop keeps taking connections the kernel has
// completed before it closes the socket.
const handshakeGrace = 20 * time.Millisecond

// fdHeadroom is how many file descriptors the connection cap leaves for
// everything else: the listener, log files, connections to the API.
const fdHeadroom = 64

// The stages of a connection, from the cap's point of view. Only a
// connection whose current request has been authenticated is safe from
// eviction.
const (
	connNew     int32 = iota // accepted, no request read yet
	connIdle                 // between requests (keep-alive)
	connActive               // reading a request that is not authenticated yet
	connAuthed               // serving an authenticated webhook
	connClosing              // claimed for closing (idle, or evicted): authenticates no webhook
)

// connLimiter is a listener that keeps at most max connections open. When a
// new connection arrives at the cap it closes, to make room, the oldest
// idle connection, else the oldest whose request is not authenticated yet
// (see victimLocked); a connection serving an authenticated webhook is
// never closed. Only when
// every connection is serving one does Accept wait for a slot, leaving new
// connections in the kernel's queue. So idle keep-alive connections and
// slow senders cannot lock out the platform: its connection takes the
// place of one of theirs.
//
// stop closes the socket after taking every connection the kernel has
// already completed, so a client whose connect succeeded is served.
type connLimiter struct {
	inner net.Listener
	max   int

	mu      sync.Mutex
	head    *trackedConn // oldest
	tail    *trackedConn // newest
	open    int
	changed chan struct{} // closed and replaced when a slot may have freed

	stopped   chan struct{} // closed by stop: no more connections
	drained   chan struct{} // closed once stop has taken what the kernel queued
	closed    chan struct{} // closed by Close
	stopOnce  sync.Once
	drainOnce sync.Once
	evicted   *atomic.Int64 // counts connections closed to make room
}

func newConnLimiter(inner net.Listener, max int, evicted *atomic.Int64) *connLimiter {
	return &connLimiter{inner: inner, max: max, evicted: evicted,
		changed: make(chan struct{}), stopped: make(chan struct{}), drained: make(chan struct{}), closed: make(chan struct{})}
}

// errListenerClosed is what Accept returns once the limiter is closed.
var errListenerClosed = net.ErrClosed

// Accept returns the next connection, making room for it first.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		if err := l.waitForRoom(); err != nil {
			return nil, err
		}
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.stopped:
				// stop set a deadline to collect what the kernel had
				// queued: the queue is empty, close the socket and wait
				// for Close.
				l.inner.Close()
				l.drainOnce.Do(func() { close(l.drained) })
				<-l.closed
				return nil, errListenerClosed
			default:
			}
			return nil, err
		}
		return l.admit(&trackedConn{Conn: c, l: l, accepted: time.Now().UnixNano()})
	}
}

// admit counts c in, closing a victim if the cap is reached. If every
// slot serves an authenticated webhook it waits for one to end (the check
// before Accept passed, but the connections changed state since).
func (l *connLimiter) admit(c *trackedConn) (net.Conn, error) {
	for {
		l.mu.Lock()
		var victim *trackedConn
		if l.open >= l.max {
			victim = l.victimLocked(true)
		}
		if l.open < l.max || victim != nil {
			l.open++
			l.pushLocked(c)
			l.mu.Unlock()
			if victim != nil {
				l.evicted.Add(1)
				victim.Close()
			}
			return c, nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-l.closed:
			c.Conn.Close()
			return nil, errListenerClosed
		}
	}
}

// waitForRoom returns once there is a free slot or a connection that may
// be evicted.
func (l *connLimiter) waitForRoom() error {
	for {
		l.mu.Lock()
		if l.open < l.max || l.victimLocked(false) != nil {
			l.mu.Unlock()
			return nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-l.closed:
			return errListenerClosed
		}
	}
}

// victimLocked picks the connection to close for a newcomer, or nil: the
// oldest idle one, else the oldest whose request is not authenticated
// (still sending its headers or its body). Going by age spares the
// newcomers, whose requests are on their way: the platform sends a
// webhook in one go, so its connections leave that state within moments,
// while a slow sender stays in it and grows old. With claim, it claims
// the one it picks (see claim).
func (l *connLimiter) victimLocked(claim bool) *trackedConn {
	for _, evictable := range [...]func(int32) bool{
		func(s int32) bool { return s == connIdle },
		func(s int32) bool { return s == connNew || s == connActive },
	} {
		for c := l.head; c != nil; c = c.next {
			if s := c.state.Load(); evictable(s) && (!claim || c.claim(s)) {
				return c
			}
		}
	}
	return nil
}

func (l *connLimiter) pushLocked(c *trackedConn) {
	c.prev = l.tail
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connLimiter) removeLocked(c *trackedConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// notifyLocked wakes an Accept waiting for room.
func (l *connLimiter) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *connLimiter) setState(c *trackedConn, s int32) {
	for {
		old := c.state.Load()
		if old == s || old == connClosing {
			return
		}
		if c.state.CompareAndSwap(old, s) {
			break
		}
	}
	if s != connIdle && s != connNew {
		return
	}
	l.mu.Lock()
	l.notifyLocked()
	l.mu.Unlock()
}

// stop makes the limiter take the connections the kernel has completed,
// then close its socket, and waits up to wait for that (Accept does it, so
// it needs the server's accept loop running and a free slot). Accept
// returns an error once Close is called.
func (l *connLimiter) stop(wait time.Duration) {
	l.stopOnce.Do(func() {
		close(l.stopped)
		type deadliner interface{ SetDeadline(time.Time) error }
		// A deadline already passed would fail Accept before it looks at
		// the queue: give it a moment to empty it.
		if d, ok := l.inner.(deadliner); ok {
			_ = d.SetDeadline(time.Now().Add(handshakeGrace))
		} else {
			l.inner.Close()
			l.drainOnce.Do(func() { close(l.drained) })
		}
	})
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-l.drained:
	case <-t.C:
	}
}

// closeIdle closes the connections that have waited between requests
// for at least quiet, and those that have sent no request in four times
// that since they were accepted: a client still sending reuses its
// connection within moments (and, while the service stops, is told to
// close it with its answer), so closing only quiet ones avoids closing a
// connection just as a request arrives on it.
func (l *connLimiter) closeIdle(quiet time.Duration) {
	var idle []*trackedConn
	now := time.Now()
	before, silent := now.Add(-quiet).UnixNano(), now.Add(-4*quiet).UnixNano()
	l.mu.Lock()
	for c := l.head; c != nil; c = c.next {
		switch s := c.state.Load(); s {
		case connIdle:
			if c.idleSince.Load() <= before && c.claim(s) {
				idle = append(idle, c)
			}
		case connNew:
			if c.accepted <= silent && c.claim(s) {
				idle = append(idle, c)
			}
		}
	}
	l.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// waitEmpty waits until no connection is open or deadline passes, closing
// quiet ones as closeIdle does; it reports whether all closed.
func (l *connLimiter) waitEmpty(deadline time.Time, quiet time.Duration) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	tick := time.NewTicker(max(quiet/4, time.Millisecond))
	defer tick.Stop()
	for {
		l.closeIdle(quiet)
		l.mu.Lock()
		open, ch := l.open, l.changed
		l.mu.Unlock()
		if open == 0 {
			return true
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-t.C:
			return false
		}
	}
}

// Close closes the socket; connections already accepted stay open.
func (l *connLimiter) Close() error {
	select {
	case <-l.closed:
		return nil
	default:
	}
	close(l.closed)
	l.stopOnce.Do(func() { close(l.stopped) })
	err := l.inner.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (l *connLimiter) Addr() net.Addr { return l.inner.Addr() }

// openConns reports the connections open now.
func (l *connLimiter) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// trackedConn is a connection the limiter counts.
type trackedConn struct {
	net.Conn
	l          *connLimiter
	prev, next *trackedConn // guarded by l.mu
	state      atomic.Int32
	accepted   int64        // unix nanoseconds
	idleSince  atomic.Int64 // unix nanoseconds, when it last fell idle
	closeOnce  sync.Once
}

// authenticated marks the connection's current request as authenticated:
// it is not evicted until the request ends. It reports false, and the
// request must not be served, if the connection was claimed for closing
// first.
func (c *trackedConn) authenticated() bool {
	for {
		s := c.state.Load()
		if s == connClosing {
			return false
		}
		if c.state.CompareAndSwap(s, connAuthed) {
			return true
		}
	}
}

// claim marks the connection, found in state s, as about to be closed,
// and reports whether it was still in s. The server may read a request
// from a connection between the moment it is picked for closing and the
// moment it is closed, or just before: once claimed, the connection
// authenticates no webhook, so no handler starts whose answer could not
// be delivered.
func (c *trackedConn) claim(s int32) bool { return c.state.CompareAndSwap(s, connClosing) }

// Close closes the connection and frees its slot, once.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		c.l.removeLocked(c)
		c.l.open--
		c.l.notifyLocked()
		c.l.mu.Unlock()
	})
	return err
}

// trackState is the http.Server's ConnState hook.
func trackState(c net.Conn, s http.ConnState) {
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		tc.l.setState(tc, connActive)
	case http.StateIdle:
		tc.idleSince.Store(time.Now().UnixNano())
		tc.l.setState(tc, connIdle)
	}
}

type connKey struct{}

// withConn is the http.Server's ConnContext hook: handlers find their
// connection in the request's context.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// connCap returns the connection cap for a configured cap n: n lowered,
// if need be, to leave fdHeadroom descriptors of the process's open-file
// limit for everything else.
func connCap(n int) int {
	if limit, ok := fdLimit(); ok && limit < uint64(n)+fdHeadroom {
		return max(int(limit)-fdHeadroom, 1)
	}
	return n
}

// connFrom returns the connection a request arrived on, when the Service
// serves it itself (nil when mounted in another server).
func connFrom(ctx context.Context) *trackedConn {
	tc, _ := ctx.Value(connKey{}).(*trackedConn)
	return tc
}
