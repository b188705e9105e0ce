package tracking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/lcsvc/lcservice/internal/bubble"
	"github.com/redis/go-redis/v9"
)

// testRedisURLEnv names the real Redis server the Redis suite also runs
// against, e.g. redis://127.0.0.1:6379/15. Unset, that variant is skipped.
const testRedisURLEnv = "LCSERVICE_TEST_REDIS_URL"

// redisBackend is a Redis server the suite runs against: an in-process
// miniredis, or the real server LCSERVICE_TEST_REDIS_URL names.
type redisBackend struct {
	name string
	opts *redis.Options       // where the server is
	mini *miniredis.Miniredis // nil for a real server
}

// newMiniBackend starts a miniredis for the test, closed when it ends.
func newMiniBackend(t testing.TB) *redisBackend {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatalf("starting miniredis: %v", err)
	}
	t.Cleanup(m.Close)
	return &redisBackend{name: "miniredis", opts: &redis.Options{Addr: m.Addr()}, mini: m}
}

// realBackend returns the server LCSERVICE_TEST_REDIS_URL names, or skips
// the test when it is unset.
func realBackend(t testing.TB) *redisBackend {
	t.Helper()
	url := os.Getenv(testRedisURLEnv)
	if url == "" {
		t.Skipf("%s is not set: skipping the tests against a real redis-server (set it, e.g. to redis://127.0.0.1:6379/15, or run make test with redis-server on PATH)", testRedisURLEnv)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", testRedisURLEnv, err)
	}
	return &redisBackend{name: "redis-server", opts: opts}
}

// client returns a new client of the backend, closed when the test ends.
// Each replica of a test gets its own, as separate processes would.
// contextTimeouts is go-redis's ContextTimeoutEnabled.
func (b *redisBackend) client(t testing.TB, contextTimeouts bool) *redis.Client {
	t.Helper()
	opts := *b.opts
	opts.ContextTimeoutEnabled = contextTimeouts
	c := redis.NewClient(&opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// clientVia is client, connecting through addr (a proxy) instead. Its
// reads and writes have no timeout of their own, so that against a
// server that hangs nothing but the store's CallTimeout (or the caller's
// context) ends a call: see returns.
func (b *redisBackend) clientVia(t testing.TB, addr string, contextTimeouts bool) *redis.Client {
	t.Helper()
	opts := *b.opts
	opts.Addr = addr
	opts.ContextTimeoutEnabled = contextTimeouts
	opts.MaxRetries = -1 // the test counts on one attempt per call
	opts.ReadTimeout, opts.WriteTimeout = -1, -1
	c := redis.NewClient(&opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix returns a key prefix of the test's own, and deletes every key
// under it when the test ends.
func (b *redisBackend) prefix(t testing.TB) string {
	t.Helper()
	raw := make([]byte, 8)
	rand.Read(raw)
	prefix := "lcservice-test:" + hex.EncodeToString(raw) + ":"
	if b.mini != nil {
		return prefix // the server ends with the test
	}
	t.Cleanup(func() {
		// Registered before the test's stores, so it runs after they close.
		c := redis.NewClient(b.opts)
		defer c.Close()
		keys := b.keys(t, c, prefix)
		if len(keys) > 0 {
			if err := c.Del(context.Background(), keys...).Err(); err != nil {
				t.Errorf("deleting the test's keys: %v", err)
			}
		}
	})
	return prefix
}

// keys lists the keys under prefix.
func (b *redisBackend) keys(t testing.TB, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("listing the keys under %s: %v", prefix, err)
	}
	return keys
}

// replicas is several Redis stores sharing one prefix and one ManualClock,
// as the replicas of one service share a Redis. Each has its own client
// and its own recorder of timeouts.
type replicas struct {
	prefix string
	clock  *ManualClock
	stores []*Redis[string]
	recs   []*recorder
	logs   *logBuffer
}

// newReplicas creates n stores on b. Fields of opts left zero get a
// ManualClock at testStart, a 1 minute TTL, the replica's recorder, and a
// logger that keeps what it is told; Client and Prefix are set here.
func newReplicas(t *testing.T, b *redisBackend, n int, opts RedisOptions[string]) *replicas {
	t.Helper()
	rs := &replicas{prefix: b.prefix(t), clock: newTestClock(), logs: &logBuffer{}}
	if opts.Clock == nil {
		opts.Clock = rs.clock
	}
	if opts.TTL == 0 {
		opts.TTL = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(rs.logs, t.Output()), nil))
	}
	for range n {
		o := opts
		o.Client = b.client(t, true)
		o.Prefix = rs.prefix
		rec := &recorder{}
		if o.OnTimeout == nil {
			o.OnTimeout = rec.onTimeout
		}
		store, err := NewRedis(ctx, o)
		if err != nil {
			t.Fatalf("NewRedis: %v", err)
		}
		t.Cleanup(func() { closeStoreWithin(t, store) })
		rs.stores = append(rs.stores, store)
		rs.recs = append(rs.recs, rec)
	}
	return rs
}

// timedOutIDs returns the IDs every replica handed to OnTimeout, sorted.
func (rs *replicas) timedOutIDs() []string {
	var ids []string
	for _, rec := range rs.recs {
		ids = append(ids, rec.timedOutIDs()...)
	}
	return sorted(ids)
}

// closeStoreWithin closes s, failing the test rather than hanging it.
func closeStoreWithin(t testing.TB, s Store[string]) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(bubble.WaitLimit(t)):
		t.Error("Close did not return: it is blocked")
	}
}

// returns runs call, which something should end (CallTimeout, a context's
// deadline, an error), and returns how long it took and its error. It
// fails the test if call has not returned within bubble.WaitLimit: on a client
// from clientVia, a call to a server that hangs that nothing ends would
// wait for ever.
func returns(t testing.TB, what string, call func() error) (time.Duration, error) {
	t.Helper()
	type result struct {
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		err := call()
		done <- result{err, time.Since(start)}
	}()
	select {
	case r := <-done:
		return r.took, r.err
	case <-time.After(bubble.WaitLimit(t)):
		t.Fatalf("%s with Redis down did not return: nothing bounds the call", what)
		return 0, nil
	}
}

func mustAddTo(t testing.TB, s Store[string], e Entry[string]) {
	t.Helper()
	if err := s.Add(ctx, e); err != nil {
		t.Fatalf("Add(%q): %v", e.ID, err)
	}
}

// resolveIn and doneIn are resolve and done for any store: they fail the
// test on an error.
func resolveIn(t testing.TB, s Store[string], id string) (Entry[string], bool) {
	t.Helper()
	e, ok, err := s.Resolve(ctx, id)
	if err != nil {
		t.Errorf("Resolve(%q) error: %v", id, err)
	}
	return e, ok
}

func doneIn(t testing.TB, s Store[string], id string) (Entry[string], bool) {
	t.Helper()
	e, ok, err := s.Done(ctx, id)
	if err != nil {
		t.Errorf("Done(%q) error: %v", id, err)
	}
	return e, ok
}

// logBuffer keeps what a store logs, for tests that check a warning.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stallProxy forwards TCP connections to a Redis server until told to
// stall: from then on it swallows what clients send, so their calls get no
// answer, as from a server that hangs.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newStallProxy(t testing.TB, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(p.Close)
	return p
}

func (p *stallProxy) Addr() string { return p.ln.Addr().String() }

func (p *stallProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(client, server) })
		p.wg.Go(func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := client.Read(buf)
				if err != nil {
					server.Close()
					return
				}
				if p.stalled.Load() {
					continue
				}
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
		})
	}
}

// Close stops the proxy and cuts every connection through it, as a server
// that went away.
func (p *stallProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// failingCodec fails to encode or decode on demand.
type failingCodec struct{ marshal, unmarshal bool }

var errCodec = errors.New("test codec failure")

func (c failingCodec) Marshal(v string) ([]byte, error) {
	if c.marshal {
		return nil, errCodec
	}
	return []byte(v), nil
}

func (c failingCodec) Unmarshal(b []byte) (string, error) {
	if c.unmarshal {
		return "", errCodec
	}
	return string(b), nil
}

// quietRedisLogger drops go-redis's own log lines (dial failures, which the
// tests provoke on purpose); the stores' errors are what the tests check.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedisLogger{})
	os.Exit(m.Run())
}
