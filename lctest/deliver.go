package lctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"
)

// maxResponseBody bounds how much of a service's answer is read.
const maxResponseBody = 32 << 20

// Deliver sends the service one signed webhook of etype about org (nil
// for health and the global once_per_* etypes, which carry no oid or jwt)
// with data, encoded with encoding/json (nil sends {}; pass a
// json.RawMessage to send JSON as is; a Detection is sent in the cloud's
// DetectionShape). While the service answers retry=true it is delivered
// again with the same mid, as many more times as WithMaxRedeliveries
// allows (DefaultMaxRedeliveries by default). It returns the last
// response; the error reports a transport failure, a status other than
// 200 or a body that is not a response. Deliver checks nothing about
// installation: it is the raw primitive under Install, Request, Tick and
// the detection webhooks.
//
// For an extension, etype is the kind of message (heartbeat,
// schema_request, request, event, error_report) and data its content as
// is (the caller adds org access where needed); the cloud adds version and
// a fresh idempotency_key, signs, compresses and redelivers it.
func (s *Service) Deliver(ctx context.Context, etype string, org *Org, data any) (Response, error) {
	if s.protocol == Extension {
		return s.deliverExt(ctx, etype, org, data)
	}
	switch d := data.(type) {
	case Detection:
		data = d.wire(s.cloud.detectionShape)
	case *Detection:
		if d != nil {
			data = d.wire(s.cloud.detectionShape)
		}
	}
	return s.deliver(ctx, etype, org, data, nil)
}

// deliver is Deliver; det, when not nil, is the detection of the cloud's
// rules that data carries, for the record.
func (s *Service) deliver(ctx context.Context, etype string, org *Org, data any, det *Detection) (Response, error) {
	if etype == "" {
		return Response{}, errors.New("lctest: Deliver: etype is empty")
	}
	raw := json.RawMessage(`{}`)
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return Response{}, fmt.Errorf("lctest: Deliver %s: encoding data: %w", etype, err)
		}
		raw = b
	}
	c := s.cloud
	if !c.begin() {
		return Response{}, ErrClosed
	}
	defer c.finish()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()

	env := envelope{
		Version:  ProtocolVersion,
		MID:      newUUID(),
		Deadline: time.Now().Add(webhookDeadline).Unix(),
		EType:    etype,
		Data:     raw,
	}
	if org != nil {
		env.OID, env.JWT = org.OID, org.JWT
	}
	body, err := json.Marshal(env)
	if err != nil {
		return Response{}, fmt.Errorf("lctest: Deliver %s: encoding the envelope: %w", etype, err)
	}
	m := &message{svc: s, etype: etype, what: etype, oid: env.OID, mid: env.MID, body: body, wire: body,
		hdr: http.Header{SignatureHeader: {Sign(s.secret, body)}}, det: det}
	return s.send(ctx, m)
}

// message is one webhook as the cloud sends it: every attempt, however
// many times it is redelivered, posts the same wire bytes and headers.
type message struct {
	svc         *Service
	etype       string // Exchange.EType
	action      string // Exchange.Action
	what        string // Activity.What
	oid, mid    string // mid is an extension's idempotency_key
	body, wire  []byte // the JSON signed and recorded; as posted (perhaps gzipped)
	hdr         http.Header
	det         *Detection // the detection the message carries, for the record
	ext         *extMsg    // for an extension: the message, whose continuations a success schedules
	lastAttempt atomic.Int64
}

// send delivers m, and delivers it again while the service answers
// retry=true, as many more times as WithMaxRedeliveries allows. Each
// attempt goes to the replica the balancing chooses and takes the next
// attempt number of m. The caller holds the cloud open (begin).
func (s *Service) send(ctx context.Context, m *message) (Response, error) {
	c := s.cloud
	decode := decodeResponse
	if m.ext != nil {
		decode = decodeExtResponse
	}
	for redelivery := 0; ; redelivery++ {
		attempt := int(m.lastAttempt.Add(1))
		// The replica is chosen before the attempt is recorded, so the
		// record says where it went; the attempt is recorded before the
		// handler runs, so that anything its tasks cause is recorded after
		// it (see "Job order" in the package doc).
		t, replica := s.acquire()
		sent := c.notify(Activity{Kind: ActivityWebhook, OID: m.oid, Service: s.name, MID: m.mid,
			Attempt: attempt, Replica: replica, What: m.what, Body: m.body, Detection: m.det})
		x := s.exchange(ctx, t, m, decode)
		x.EType, x.Action, x.OID, x.MID, x.Attempt, x.Replica, x.sent = m.etype, m.action, m.oid, m.mid, attempt, replica, sent
		c.notify(Activity{Kind: ActivityResponse, OID: m.oid, Service: s.name, MID: m.mid,
			Attempt: attempt, Replica: replica, What: m.what, Err: x.Err, Body: x.Body, Exchange: &x})
		if x.Err != nil {
			if m.ext != nil {
				return x.Response, fmt.Errorf("lctest: extension %q, %s (idempotency key %s, attempt %d): %w", s.name, m.what, m.mid, attempt, x.Err)
			}
			return x.Response, fmt.Errorf("lctest: service %q, %s webhook (mid %s, attempt %d): %w", s.name, m.what, m.mid, attempt, x.Err)
		}
		if x.Response.Success {
			if m.ext != nil && m.ext.org != nil && len(x.Response.Continuations) > 0 {
				c.addContinuations(s, *m.ext, x.Response.Continuations)
			}
			return x.Response, nil
		}
		if !x.Response.Retry || redelivery >= c.maxRedeliveries || ctx.Err() != nil {
			return x.Response, nil
		}
	}
}

// Redeliver delivers the webhook of x again, as the cloud does when a
// response was lost: exactly the same signed body (the same mid, or for an
// extension the same idempotency_key) to the replica the balancing
// chooses next, recorded as the message's next attempt. Like the first
// delivery, it is delivered again while the service answers retry=true
// (as WithMaxRedeliveries allows), and an extension's successful answer
// has its continuations scheduled. x must be one of the service's
// exchanges (Service.Exchanges, or Activity.Exchange in the record); the
// error is as Deliver's.
func (s *Service) Redeliver(ctx context.Context, x Exchange) (Response, error) {
	m := x.msg
	if m == nil || m.svc != s {
		return Response{}, fmt.Errorf("lctest: Redeliver: the exchange (mid %q) is not one of service %q's; pass one from its Exchanges or the cloud's record", x.MID, s.name)
	}
	c := s.cloud
	if !c.begin() {
		return Response{}, ErrClosed
	}
	defer c.finish()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()
	return s.send(ctx, m)
}

// exchange performs one delivery attempt of m to t (nil when every
// replica is stopped), which acquire counted in flight, and decodes the
// answer.
func (s *Service) exchange(ctx context.Context, t *target, m *message, decode func(int, []byte) (Response, error)) Exchange {
	x := Exchange{Time: time.Now(), Request: m.body, msg: m}
	if t == nil {
		x.Err = ErrReplicasStopped
		return x
	}
	var status int
	var respBody []byte
	if t.handler != nil {
		status, respBody, x.Err = s.callHandler(ctx, t.handler, m.wire, m.hdr)
	} else {
		status, respBody, x.Err = s.callURL(ctx, t.url, m.wire, m.hdr)
	}
	t.inflight.Done()
	x.Body = respBody
	if x.Err != nil {
		x.Response.Status = status
		return x
	}
	x.Response, x.Err = decode(status, respBody)
	return x
}

func (s *Service) newRequest(ctx context.Context, target string, body []byte, hdr http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lctest-cloud")
	for k, v := range hdr {
		// A copy: the same headers go with every attempt.
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	return req, nil
}

// callHandler runs the in-process handler, turning a panic into an error.
func (s *Service) callHandler(ctx context.Context, h http.Handler, body []byte, hdr http.Header) (status int, resp []byte, err error) {
	req, err := s.newRequest(ctx, "http://lctest.service/", body, hdr)
	if err != nil {
		return 0, nil, err
	}
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != nil {
			status, resp, err = 0, nil, fmt.Errorf("the handler panicked: %v", v)
		}
	}()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	resp, err = io.ReadAll(io.LimitReader(res.Body, maxResponseBody))
	return res.StatusCode, resp, err
}

func (s *Service) callURL(ctx context.Context, target string, body []byte, hdr http.Header) (int, []byte, error) {
	req, err := s.newRequest(ctx, target, body, hdr)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.cloud.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	resp, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody))
	return res.StatusCode, resp, err
}
