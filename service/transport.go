package service

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
)

func (s *Service) newRouter() *mux.Router {
	r := mux.NewRouter()
	r.Methods(http.MethodGet).Path("/healthz").HandlerFunc(s.liveness)
	r.Methods(http.MethodGet).Path("/readyz").HandlerFunc(s.readiness)
	if s.webhook != nil {
		r.Methods(http.MethodPost).PathPrefix("/").Handler(s.webhook)
	} else {
		r.Methods(http.MethodPost).PathPrefix("/").HandlerFunc(s.serveWebhook)
	}
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.writeJSONError(w, http.StatusMethodNotAllowed, "webhooks are delivered with POST")
	})
	r.NotFoundHandler = r.MethodNotAllowedHandler
	return r
}

// liveness answers GET /healthz without authentication: the process is
// up. It reveals nothing about the service; the signed health webhook
// carries the metadata.
func (s *Service) liveness(w http.ResponseWriter, _ *http.Request) {
	s.header(w).Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// readiness answers GET /readyz without authentication: 200 while the
// service takes webhooks, 503 once it is shutting down, so a load balancer
// stops sending before the listener closes.
func (s *Service) readiness(w http.ResponseWriter, _ *http.Request) {
	s.header(w).Set("Cache-Control", "no-store")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"shutting down"}`)
		return
	}
	_, _ = io.WriteString(w, `{"status":"ready"}`)
}

// header sets the headers every answer carries and returns the header
// map: JSON, and, once Serve's listener is closed, a closing connection.
func (s *Service) header(w http.ResponseWriter) http.Header {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if s.closing.Load() {
		h.Set("Connection", "close")
	}
	return h
}

// serveWebhook reads, verifies and parses one webhook, then dispatches it.
// The signature is checked over the raw bytes before any parsing.
func (s *Service) serveWebhook(w http.ResponseWriter, r *http.Request) {
	tc := connFrom(r.Context())
	body, held, ok := s.readBody(w, r, tc)
	if !ok {
		return
	}
	if len(s.secret) > 0 {
		if err := verify(s.secret, body, r.Header[sigHeaderKey]); err != nil {
			s.budget.release(held)
			s.bufs.put(body)
			s.stats.refused.Add(1)
			if ok, n := s.refusedLog.Allow(time.Now()); ok {
				s.log.Warn("webhook refused", "reason", err.Error(), "remote", r.RemoteAddr, "suppressed", n)
			}
			s.writeJSONError(w, http.StatusUnauthorized, err.Error())
			return
		}
	}
	// Authenticated: the body no longer counts against the budget of
	// unauthenticated bytes, and the connection may not be evicted.
	s.budget.release(held)
	if tc != nil && !tc.authenticated() {
		// Claimed for closing (evicted, or closed as idle, as the
		// request arrived): no answer could reach the client, so the
		// handler must not run.
		tc.Close()
		return
	}
	var env envelope
	if err := decodeEnvelope(body, &env); err != nil {
		// Authenticated, so logged every time; the envelope may not have
		// been read far enough to name its etype, oid or mid.
		s.log.Warn("webhook failed", "reason", err.Error(), "status", http.StatusBadRequest,
			"etype", string(env.EType), "oid", env.OID, "mid", env.MID)
		s.writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Started under the service's own context: a client that disconnects
	// does not cancel a start other webhooks wait for.
	if err := s.startWith(s.bg.ctx, r.Context()); err != nil {
		s.writeResponse(w, Retry(err).marshal())
		return
	}
	if s.trace {
		s.log.Info("webhook received", "body", redactJWT(body))
	}
	out := s.answer(r.Context(), &env)
	if s.trace {
		s.log.Info("webhook answered", "etype", string(env.EType), "mid", env.MID, "body", json.RawMessage(out))
	}
	s.writeResponse(w, out)
}

func (s *Service) writeResponse(w http.ResponseWriter, body []byte) {
	s.header(w)
	_, _ = w.Write(body)
}

// readBody reads the request body under the service's limits: the body
// limit (a larger Content-Length is refused before reading), the budget of
// unauthenticated bytes (no room within budgetWait is a 503), and, when the
// Service runs its own server, the minimum transfer rate (the read
// deadline moves with the data). It returns the body and the budget bytes
// it holds, which the caller releases once the body is authenticated or
// refused. On failure it has answered the request.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, tc *trackedConn) (body []byte, held int64, ok bool) {
	n := r.ContentLength
	if n > s.maxBody {
		s.stats.tooLarge.Add(1)
		s.refuse(w, http.StatusRequestEntityTooLarge, tooLargeMsg(s.maxBody))
		return nil, 0, false
	}
	var p pacer
	if tc != nil {
		p = pacer{rc: http.NewResponseController(w), start: time.Now(), rate: s.minRate, grace: s.pace.grace, stall: s.pace.stall}
	}
	var err error
	if n >= 0 {
		body, held, err = s.readKnown(r, n, &p)
	} else {
		body, held, err = s.readChunked(r, &p)
	}
	p.done()
	if err == nil {
		return body, held, true
	}
	s.budget.release(held)
	s.bufs.put(body)
	var ne net.Error
	switch {
	case err == errBusy:
		s.stats.busy.Add(1)
		w.Header().Set("Retry-After", retryAfterSeconds)
		s.refuse(w, http.StatusServiceUnavailable, "too many webhook bodies being received at once: try again shortly")
	case err == errTooLarge:
		s.stats.tooLarge.Add(1)
		s.refuse(w, http.StatusRequestEntityTooLarge, tooLargeMsg(s.maxBody))
	case errors.As(err, &ne) && ne.Timeout():
		s.stats.slowBodies.Add(1)
		s.refuse(w, http.StatusRequestTimeout, "request body arrived too slowly")
	default:
		s.refuse(w, http.StatusBadRequest, "reading request body failed")
	}
	return nil, 0, false
}

var (
	errBusy     = errors.New("body budget exhausted")
	errTooLarge = errors.New("body over the limit")
)

func tooLargeMsg(limit int64) string {
	return "request body over the limit of " + strconv.FormatInt(limit, 10) + " bytes"
}

// readKnown reads a body of declared length n.
func (s *Service) readKnown(r *http.Request, n int64, p *pacer) ([]byte, int64, error) {
	held := s.bufs.size(n)
	if !s.budget.acquire(r.Context(), held, n <= smallBody, budgetWait) {
		return nil, 0, errBusy
	}
	buf := s.bufs.get(n)
	var off int64
	for off < n {
		p.before(off)
		m, err := r.Body.Read(buf[off:min(n, off+readChunk)])
		off += int64(m)
		if err == io.EOF && off == n {
			break
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return buf, held, err
		}
	}
	return buf, held, nil
}

// readChunked reads a body of unknown length, taking budget as it grows.
func (s *Service) readChunked(r *http.Request, p *pacer) ([]byte, int64, error) {
	var buf []byte
	var held int64
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > s.maxBody {
				return buf, held, errTooLarge
			}
			next := min(max(2*int64(cap(buf)), 4<<10), s.maxBody+1)
			size := s.bufs.size(next)
			if !s.budget.acquire(r.Context(), size, next <= smallBody, budgetWait) {
				return buf, held, errBusy
			}
			grown := append(s.bufs.get(next)[:0], buf...)
			s.bufs.put(buf)
			s.budget.release(held)
			buf, held = grown, size
		}
		p.before(int64(len(buf)))
		m, err := r.Body.Read(buf[len(buf):min(cap(buf), len(buf)+readChunk)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if int64(len(buf)) > s.maxBody {
				return buf, held, errTooLarge
			}
			return buf, held, nil
		}
		if err != nil {
			return buf, held, err
		}
	}
}

// pacer moves a connection's read deadline as a body arrives: the body
// must keep to the minimum rate after bodyGrace, and may not pause for
// more than bodyStall. The zero pacer does nothing (a Service mounted in
// another server leaves deadlines to that server).
type pacer struct {
	rc           *http.ResponseController
	start        time.Time
	rate         int64
	grace, stall time.Duration
}

func (p *pacer) before(received int64) {
	if p.rc == nil {
		return
	}
	dl := p.start.Add(p.grace + time.Duration(float64(received)/float64(p.rate)*float64(time.Second)))
	if stall := time.Now().Add(p.stall); stall.Before(dl) {
		dl = stall
	}
	_ = p.rc.SetReadDeadline(dl)
}

// done clears the read deadline once the body is read, so it cannot end a
// long handler: a read failing on a passed deadline would be taken for a
// lost client and cancel the request's context. (net/http clears it too
// when it sees the end of the body; this does not depend on that.)
func (p *pacer) done() {
	if p.rc != nil {
		_ = p.rc.SetReadDeadline(time.Time{})
	}
}

// refuse answers a request whose body may not have been read, closing the
// connection so the rest of the body is never read.
func (s *Service) refuse(w http.ResponseWriter, status int, msg string) {
	if ok, n := s.limitLog.Allow(time.Now()); ok {
		s.log.Warn("webhook refused", "reason", msg, "status", status, "suppressed", n)
	}
	w.Header().Set("Connection", "close")
	s.writeJSONError(w, status, msg)
}

func (s *Service) writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	s.header(w)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// redactJWT returns the envelope with its jwt replaced, for trace logs.
func redactJWT(body []byte) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return json.RawMessage(`"<unparseable>"`)
	}
	if _, ok := m["jwt"]; ok {
		m["jwt"] = json.RawMessage(`"[redacted]"`)
	}
	b, _ := json.Marshal(m)
	return b
}
