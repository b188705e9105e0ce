package service

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

func (s *Service) newRouter() *mux.Router {
	r := mux.NewRouter()
	r.Methods(http.MethodGet).Path("/healthz").HandlerFunc(s.liveness)
	r.Methods(http.MethodGet).Path("/readyz").HandlerFunc(s.readiness)
	r.Methods(http.MethodPost).PathPrefix("/").HandlerFunc(s.serveWebhook)
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

// serveWebhook is the front door every webhook goes through, whatever
// its protocol: the body is read under the limits, inflated if the
// protocol takes gzip, and its signature checked over the bytes signed
// before any parsing; only then is the connection trusted, the message
// decoded strictly, the service started, the message de-duplicated and
// answered.
func (s *Service) serveWebhook(w http.ResponseWriter, r *http.Request) {
	p := s.proto
	tc := connFrom(r.Context())
	sigs := r.Header[p.SignatureHeader()]
	if len(s.secret) > 0 && (len(sigs) == 0 || sigs[0] == "") {
		// Unsigned: answered without reading a byte of the body.
		if status, body, ok := p.Unsigned(); ok {
			w.Header().Set("Connection", "close")
			s.writeAnswer(w, status, body)
			return
		}
		s.refuseSignature(w, r, errNoSignature(p.SignatureHeader()))
		return
	}
	body, held, ok := s.readBody(w, r, tc, p.Inflates())
	if !ok {
		return
	}
	if len(s.secret) > 0 {
		if err := verify(s.secret, body, sigs, p.SignatureHeader()); err != nil {
			s.budget.release(held)
			s.bufs.put(body)
			s.refuseSignature(w, r, err)
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
	msg, err := p.Decode(body)
	if err != nil {
		// Authenticated, so logged every time.
		s.log.Warn("webhook failed", "reason", err.Error(), "status", http.StatusBadRequest, "protocol", p.Kind())
		s.writeAnswer(w, http.StatusBadRequest, p.Refusal(err.Error()))
		return
	}
	if s.trace {
		s.log.Info("webhook received", "body", redactJWT(body))
	}
	a := s.answer(r.Context(), msg)
	if s.trace {
		s.log.Info("webhook answered", "status", a.Status, "key", msg.Key, "body", json.RawMessage(a.Body))
	}
	s.writeAnswer(w, a.Status, a.Body)
}

// refuseSignature answers a request whose signature is missing or wrong:
// counted, and logged at most a few times a second.
func (s *Service) refuseSignature(w http.ResponseWriter, r *http.Request, err error) {
	s.stats.refused.Add(1)
	if ok, n := s.refusedLog.Allow(time.Now()); ok {
		s.log.Warn("webhook refused", "reason", err.Error(), "remote", r.RemoteAddr, "suppressed", n)
	}
	w.Header().Set("Connection", "close")
	s.writeAnswer(w, http.StatusUnauthorized, s.proto.Refusal(err.Error()))
}

// writeAnswer writes a webhook's answer.
func (s *Service) writeAnswer(w http.ResponseWriter, status int, body []byte) {
	s.header(w)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody reads the request body under the service's limits: the body
// limit (a larger Content-Length is refused before reading), the budget of
// unauthenticated bytes (no room within budgetWait is a 503), and, when the
// Service runs its own server, the minimum transfer rate (the read
// deadline moves with the data). When the protocol inflates and the body
// is gzip-compressed (said by Content-Encoding, or by gzip's magic
// number), it is inflated as it arrives: the inflated bytes count against
// the limit and the budget as they grow, so a small body that inflates to
// gigabytes costs at most the limit and is refused 413 as soon as it
// passes it, its rest unread; the rate applies to the bytes on the wire.
// It returns the body and the budget bytes it holds, which the caller
// releases once the body is authenticated or refused. On failure it has
// answered the request.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, tc *trackedConn, inflates bool) (body []byte, held int64, ok bool) {
	n := r.ContentLength
	if n > s.maxBody {
		s.stats.tooLarge.Add(1)
		s.refuse(w, http.StatusRequestEntityTooLarge, tooLargeMsg(s.maxBody))
		return nil, 0, false
	}
	gz := false
	if inflates {
		switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
		case "gzip", "x-gzip":
			gz = true
		case "", "identity":
		default:
			s.refuse(w, http.StatusUnsupportedMediaType, "Content-Encoding "+strconv.Quote(enc)+" is not supported: send JSON, plain or gzip-compressed")
			return nil, 0, false
		}
	}
	var p pacer
	if tc != nil {
		p = pacer{rc: http.NewResponseController(w), start: time.Now(), rate: s.minRate, grace: s.pace.grace, stall: s.pace.stall}
	}
	src := io.Reader(r.Body)
	if inflates && !gz {
		p.before(0)
		br := bufio.NewReaderSize(r.Body, 16)
		head, _ := br.Peek(len(gzipMagic))
		gz, src = bytes.Equal(head, gzipMagic), br
	}
	var err error
	switch {
	case gz:
		body, held, err = s.readGzip(r.Context(), src, n, &p)
	case n >= 0:
		body, held, err = s.readKnown(r.Context(), src, n, &p)
	default:
		body, held, err = s.readGrowing(r.Context(), src, &p, nil, 0)
	}
	p.done()
	if err == nil {
		return body, held, true
	}
	s.budget.release(held)
	s.bufs.put(body)
	var ne net.Error
	var ge gzipError
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
	case errors.As(err, &ge):
		s.refuse(w, http.StatusBadRequest, "the body is not valid gzip: "+ge.err.Error())
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
func (s *Service) readKnown(ctx context.Context, src io.Reader, n int64, p *pacer) ([]byte, int64, error) {
	held := s.bufs.size(n)
	if !s.budget.acquire(ctx, held, n <= smallBody, budgetWait) {
		return nil, 0, errBusy
	}
	buf := s.bufs.get(n)
	var off int64
	for off < n {
		p.before(off)
		m, err := src.Read(buf[off:min(n, off+readChunk)])
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

// readGrowing reads a body of unknown length from rd (a chunked body, or
// one being inflated), taking budget as it grows, from hint bytes when
// given. The pacer goes by the bytes read, or by wire() when given (the
// bytes on the wire of a body being inflated).
func (s *Service) readGrowing(ctx context.Context, rd io.Reader, p *pacer, wire func() int64, hint int64) ([]byte, int64, error) {
	var buf []byte
	var held int64
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > s.maxBody {
				return buf, held, errTooLarge
			}
			next := max(2*int64(cap(buf)), 4<<10)
			if cap(buf) == 0 && hint > next {
				next = hint
			}
			if next >= s.maxBody {
				// Straight to the last size: a step to exactly the
				// limit, then one past it, would hold both at once.
				next = s.maxBody + 1
			}
			size := s.bufs.size(next)
			if !s.budget.acquire(ctx, size, next <= smallBody, budgetWait) {
				return buf, held, errBusy
			}
			grown := append(s.bufs.get(next)[:0], buf...)
			s.bufs.put(buf)
			s.budget.release(held)
			buf, held = grown, size
		}
		if wire != nil {
			p.before(wire())
		} else {
			p.before(int64(len(buf)))
		}
		m, err := rd.Read(buf[len(buf):min(cap(buf), len(buf)+readChunk)])
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

var gzipMagic = []byte{0x1f, 0x8b}

// gzipError is a body that does not inflate.
type gzipError struct{ err error }

func (e gzipError) Error() string { return "gzip: " + e.err.Error() }

// readGzip inflates a body as it arrives from src. The compressed bytes
// are bounded by the body limit too; n, when known, is their number.
func (s *Service) readGzip(ctx context.Context, src io.Reader, n int64, p *pacer) ([]byte, int64, error) {
	z := inflaters.Get().(*inflater)
	defer inflaters.Put(z)
	z.wire = countingReader{r: io.LimitReader(src, s.maxBody+1)}
	z.br.Reset(&z.wire)
	defer z.br.Reset(nil)
	p.before(0)
	var err error
	if z.zr == nil {
		z.zr, err = gzip.NewReader(&z.br)
	} else {
		err = z.zr.Reset(&z.br)
	}
	if err != nil {
		return nil, 0, gzipFailure(err)
	}
	// JSON inflates several times over: start from a guess rather
	// than from a few KiB, doubling.
	hint := int64(0)
	if n > 0 {
		hint = 8 * n
	}
	body, held, err := s.readGrowing(ctx, z.zr, p, func() int64 { return z.wire.n }, hint)
	switch {
	case z.wire.n > s.maxBody:
		return body, held, errTooLarge
	case err == errBusy || err == errTooLarge:
		return body, held, err
	case err != nil:
		return body, held, gzipFailure(err)
	}
	return body, held, nil
}

// inflater is what inflating a body needs, kept between bodies: a gzip
// reader's window alone is 32 KiB.
type inflater struct {
	wire countingReader
	br   bufio.Reader
	zr   *gzip.Reader
}

var inflaters = sync.Pool{New: func() any {
	z := new(inflater)
	z.br = *bufio.NewReaderSize(nil, 16<<10)
	return z
}}

// gzipFailure tells a transport error (kept: a timeout is a slow body)
// from a corrupt stream.
func gzipFailure(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return err
	}
	return gzipError{err}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
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
	s.writeAnswer(w, status, s.proto.Refusal(msg))
}

// writeJSONError answers a request that is not a webhook.
func (s *Service) writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	s.writeAnswer(w, status, b)
}

// redactJWT returns the message with every "jwt" member replaced, at any
// depth (the extension protocol nests it under "org"), for trace logs.
func redactJWT(body []byte) json.RawMessage {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return json.RawMessage(`"<unparseable>"`)
	}
	b, _ := json.Marshal(redact(v))
	return b
}

func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "jwt" {
				v[k] = "[redacted]"
			} else {
				v[k] = redact(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = redact(x)
		}
	}
	return v
}
