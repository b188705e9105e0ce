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
	hdr := http.Header{SignatureHeader: {Sign(s.secret, body)}}
	for attempt := 1; ; attempt++ {
		// Recorded before the handler runs, so that anything its tasks
		// cause is recorded after it (see "Job order" in the package doc).
		sent := c.notify(Activity{Kind: ActivityWebhook, OID: env.OID, Service: s.name, MID: env.MID,
			Attempt: attempt, What: etype, Body: body, Detection: det})
		x := s.exchange(ctx, body, body, hdr, decodeResponse)
		x.EType, x.OID, x.MID, x.Attempt, x.sent = etype, env.OID, env.MID, attempt, sent
		c.notify(Activity{Kind: ActivityResponse, OID: env.OID, Service: s.name, MID: env.MID,
			Attempt: attempt, What: etype, Err: x.Err, Body: x.Body, Exchange: &x})
		if x.Err != nil {
			return x.Response, fmt.Errorf("lctest: service %q, %s webhook (mid %s, attempt %d): %w", s.name, etype, env.MID, attempt, x.Err)
		}
		if x.Response.Success || !x.Response.Retry || attempt > c.maxRedeliveries || ctx.Err() != nil {
			return x.Response, nil
		}
	}
}

// exchange performs one delivery attempt: it POSTs wire (body, perhaps
// compressed) with hdr and decodes the answer; the record keeps body.
func (s *Service) exchange(ctx context.Context, body, wire []byte, hdr http.Header, decode func(int, []byte) (Response, error)) Exchange {
	x := Exchange{Time: time.Now(), Request: body}
	var status int
	var respBody []byte
	t := s.acquire()
	if t.handler != nil {
		status, respBody, x.Err = s.callHandler(ctx, t.handler, wire, hdr)
	} else {
		status, respBody, x.Err = s.callURL(ctx, t.url, wire, hdr)
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
		req.Header[http.CanonicalHeaderKey(k)] = v
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
