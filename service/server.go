package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Server timeouts. The cloud sends a webhook in one go, so reading one is
// held to seconds (the body to a minimum rate, see WithMinBodyRate);
// writing the answer keeps the handler's whole budget.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 60 * time.Second
	writeTimeout      = MaxHandlerTime + 30*time.Second
)

// Shutdown defaults.
const (
	// DefaultShutdownTimeout is how long ListenAndServe takes at most to
	// stop (WithShutdownTimeout): within Kubernetes' 30 s grace period.
	DefaultShutdownTimeout = 25 * time.Second
	// DefaultDrainDelay is how long it keeps serving, unready, before it
	// closes its listener (WithDrainDelay).
	DefaultDrainDelay = time.Second
)

// ListenAndServe serves the service on addr until ctx ends or the process
// receives SIGINT or SIGTERM, then shuts down gracefully (see Serve). An
// empty addr means ":$PORT", or ":8080" when PORT is unset (Cloud Run and
// most platforms set it); this is the one place the package reads the
// environment.
func (s *Service) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = ":" + port
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes. It
// runs the startup hooks, then serves webhooks, GET /healthz (liveness),
// GET /readyz (readiness) and GET /metrics (Prometheus, unless
// WithoutMetrics) with the limits of the package documentation. With
// WithPprof it also serves net/http/pprof on its own listener, closed
// when Serve returns.
//
// When ctx ends or SIGINT or SIGTERM arrives, it stops without dropping a
// request, all within the shutdown timeout (WithShutdownTimeout):
//
//  1. /readyz answers 503 for the drain delay (WithDrainDelay), while
//     requests are still served as usual;
//  2. the listener closes, after taking the connections the kernel had
//     already completed; from then on every answer closes its connection
//     and connections left idle are closed, so every request received is
//     answered; a webhook that reaches a connection as it is being closed
//     is not handled, and the cloud delivers it again;
//  3. in-flight webhooks finish; those still running when little of the
//     timeout is left have their context cancelled, and if they then fail
//     they are answered retry, so the cloud delivers them again;
//  4. background work stops and the OnShutdown hooks run.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	lim := newConnLimiter(ln, connCap(s.maxConns), &s.stats.evictedConns)
	s.conns.Store(lim)
	s.draining.Store(false)
	s.closing.Store(false)
	s.aborted.Store(false)
	// Handlers run under a context that stop signals do not cancel: only
	// the end of the shutdown timeout does (abort).
	base, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stopPprof, err := s.startPprof()
	if err != nil {
		lim.Close()
		_ = s.Shutdown(context.Background())
		return err
	}
	defer stopPprof()
	srv := &http.Server{
		Handler:           s.serverHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ConnState:         trackState,
		ConnContext:       withConn,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "max_connections", lim.max)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lim) }()

	select {
	case err := <-errc:
		lim.Close()
		_ = s.Shutdown(context.Background())
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	var serveErr error
	served := false
	end := time.Now().Add(s.shutdownTimeout)
	// The last part of the timeout is kept for aborted handlers to answer
	// and for background work.
	final := min(2*time.Second, s.shutdownTimeout/5)
	s.log.Info("shutting down", "drain", s.drainDelay.String(), "grace", s.shutdownTimeout.String())
	s.draining.Store(true)
	if s.drainDelay > 0 {
		t := time.NewTimer(s.drainDelay)
		select {
		case <-t.C:
		case serveErr = <-errc:
			served = true
		}
		t.Stop()
	}
	// net/http's own Shutdown would drop a request arriving on a
	// connection it has accepted but not read from yet. Instead: close the
	// listener, then answer every request with a closing connection, and
	// close connections left idle; once none is open, every request
	// received has been answered. Keep-alive stays on until the listener
	// is closed, so clients reuse their connections rather than open new
	// ones that could be caught in the listener's queue as it closes.
	lim.stop(time.Second)
	lim.Close()
	s.closing.Store(true)
	err = nil
	if !lim.waitEmpty(end.Add(-2*final), idleQuiet) {
		// Handlers are still running: cancel their contexts, and give them
		// a moment to answer (retry, see dispatch).
		s.aborted.Store(true)
		abort()
		s.log.Warn("shutdown timeout nearly spent: cancelling webhooks still in flight")
		if !lim.waitEmpty(end.Add(-final), 0) {
			err = context.DeadlineExceeded
		}
	}
	srv.Close()
	if !served {
		serveErr = <-errc
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && !errors.Is(serveErr, net.ErrClosed) && err == nil {
		err = serveErr
	}
	bctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	if berr := s.Shutdown(bctx); err == nil {
		err = berr
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// serverHandler is what the Service's own server answers: the Service,
// and its metrics on GET /metrics unless WithoutMetrics.
func (s *Service) serverHandler() http.Handler {
	if s.noMetrics {
		return s
	}
	mh := s.MetricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mh.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
	})
}

// startPprof serves net/http/pprof on its own listener when WithPprof was
// given; stop closes it.
func (s *Service) startPprof() (stop func(), err error) {
	if s.pprofAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", s.pprofAddr)
	if err != nil {
		return nil, fmt.Errorf("pprof: listening on %s: %w", s.pprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	s.pprofBound.Store(ln.Addr().String())
	s.log.Info("serving pprof", "addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return func() { srv.Close(); s.pprofBound.Store("") }, nil
}

// PprofAddr returns the address the pprof listener is bound to while
// Serve runs with WithPprof, or "".
func (s *Service) PprofAddr() string {
	a, _ := s.pprofBound.Load().(string)
	return a
}
