package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/internal/jsonscan"
	"github.com/lcsvc/lcservice/internal/wire"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// The extension protocol as the service's front door serves it: signed
// with lc-ext-sig over the body after any gzip decompression; a POST
// without a signature is a probe, answered 200 unread.

// Kind implements the front door's protocol.
func (t *Transport) Kind() string { return "extension" }

var sigHeaderKey = http.CanonicalHeaderKey(SignatureHeader)

// SignatureHeader implements the front door's protocol.
func (t *Transport) SignatureHeader() string { return sigHeaderKey }

// Inflates implements the front door's protocol: the platform may send a
// body gzip-compressed.
func (t *Transport) Inflates() bool { return true }

// Unsigned implements the front door's protocol.
func (t *Transport) Unsigned() (int, []byte, bool) { return http.StatusOK, []byte("{}"), true }

// Decode implements the front door's protocol.
func (t *Transport) Decode(body []byte) (wire.Message, error) {
	msg, k, err := decodeMessage(body)
	if err != nil {
		return wire.Message{}, err
	}
	return wire.Message{Deadline: time.Now().Add(t.cfg.deadline), Value: decoded{msg, k}}, nil
}

type decoded struct {
	msg *message
	k   kind
}

// Answer implements the front door's protocol.
func (t *Transport) Answer(ctx context.Context, m wire.Message) wire.Answer {
	d := m.Value.(decoded)
	status, out := t.handle(ctx, d.msg, d.k)
	return wire.Answer{Status: status, Body: out, Keep: status < 500}
}

// Fail implements the front door's protocol.
func (t *Transport) Fail(err error, retriable bool) wire.Answer {
	status, out := t.fail(err, retriable)
	return wire.Answer{Status: status, Body: out, Keep: !retriable}
}

// Refusal implements the front door's protocol.
func (t *Transport) Refusal(msg string) []byte { return errorBody(msg) }

// handle answers a verified message, de-duplicating it on its idempotency key.
func (t *Transport) handle(ctx context.Context, msg *message, k kind) (int, []byte) {
	switch k {
	case kindHeartbeat:
		return http.StatusOK, []byte("{}")
	case kindSchemaRequest:
		data, _ := json.Marshal(t.Schema())
		return t.ok(data, nil)
	}
	key := msg.IdempotencyKey
	if key == "" {
		return t.process(ctx, msg, k)
	}
	idem := t.idempotency()
	prior, err := idem.Begin(ctx, key)
	switch {
	case errors.Is(err, ErrInProgress):
		return t.fail(fmt.Errorf("a delivery with idempotency key %q is being handled; deliver again later", key), true)
	case err != nil:
		return t.fail(fmt.Errorf("de-duplicating the delivery: %w", err), true)
	case prior != nil:
		if prior.Body == nil {
			return t.ok(nil, nil)
		}
		return prior.Status, prior.Body
	}
	status, out := t.process(ctx, msg, k)
	// The record outlives the request: finish it even if the client left.
	rctx := context.WithoutCancel(ctx)
	if status >= 500 {
		_ = idem.Abandon(rctx, key)
	} else if err := idem.Finish(rctx, key, Answer{Status: status, Body: out}); err != nil {
		t.svc.Logger().Warn("recording the answer to a delivery failed; a repeat will be handled again", "idempotency_key", key, "error", err)
	}
	return status, out
}

// process answers a message of a kind that changes something.
func (t *Transport) process(ctx context.Context, msg *message, k kind) (int, []byte) {
	switch k {
	case kindErrorReport:
		return t.errorReport(ctx, msg)
	case kindConfValidation:
		// The service declares no configuration: any configuration is valid.
		return t.ok(nil, nil)
	case kindRequest:
		return t.request(ctx, msg)
	case kindEvent:
		return t.event(ctx, msg)
	}
	return http.StatusBadRequest, errorBody("unexpected message kind " + string(k))
}

// newRequest builds the service request for a message.
func (t *Transport) newRequest(etype service.EventType, org orgAccess, data json.RawMessage, key, action string) *service.Request {
	if len(data) == 0 || string(data) == "null" {
		data = json.RawMessage("{}")
	}
	req := newRequest(t.svc, etype, tasking.Org{ID: org.OID, JWT: org.JWT}, data)
	req.MessageID = key
	req.Action = action
	req.Deadline = time.Now().Add(t.cfg.deadline)
	return req
}

// request answers a request message: the request action, a command, or an
// internal action.
func (t *Transport) request(ctx context.Context, msg *message) (int, []byte) {
	rm := msg.Request
	key := msg.IdempotencyKey
	ctx, st := withMessage(ctx, key)
	a := rm.Action
	if h := t.action(a); h != nil {
		req := t.newRequest(service.RequestEvent, rm.Org, rm.Data, key, a)
		return t.render(req, t.call(ctx, req, h), st.seal())
	}
	m := t.svc.Metadata()
	switch {
	case a == t.cfg.requestAction && m.Implements(service.RequestEvent):
		return t.dispatch(ctx, st, t.newRequest(service.RequestEvent, rm.Org, rm.Data, key, a))
	case a == DetectionAction && m.Implements(service.Detection):
		return t.dispatch(ctx, st, t.newRequest(service.Detection, rm.Org, rm.Data, key, a))
	case strings.HasPrefix(a, TickActionPrefix):
		e := service.EventType(strings.TrimPrefix(a, TickActionPrefix))
		if e.Cron() && scheduleEvent(e) != "" && m.Implements(e) {
			return t.dispatch(ctx, st, t.newRequest(e, rm.Org, rm.Data, key, a))
		}
	default:
		for _, c := range m.Commands {
			if c.Name == a {
				req := t.newRequest(service.CommandEvent, rm.Org, rm.Data, key, a)
				req.CommandName = a
				return t.dispatch(ctx, st, req)
			}
		}
	}
	st.seal()
	return http.StatusBadRequest, errorBody(fmt.Sprintf("unknown action %q", rm.Action))
}

// event answers an event message: the lifecycle of a subscription.
func (t *Transport) event(ctx context.Context, msg *message) (int, []byte) {
	em := msg.Event
	key := msg.IdempotencyKey
	ctx, st := withMessage(ctx, key)
	m := t.svc.Metadata()
	rules := t.rules(m)
	switch em.EventName {
	case EventSubscribe:
		req := t.newRequest(service.OrgInstall, em.Org, em.Data, key, "")
		err := t.storeRules(ctx, req, rules)
		resp := service.OK(nil)
		if m.Implements(service.OrgInstall) {
			resp = dispatch(t.svc, ctx, req)
		}
		return t.render(req, withError(resp, err), st.seal())
	case EventUnsubscribe:
		req := t.newRequest(service.OrgUninstall, em.Org, em.Data, key, "")
		resp := service.OK(nil)
		if m.Implements(service.OrgUninstall) {
			resp = dispatch(t.svc, ctx, req)
		}
		err := t.deleteRules(ctx, req, rules)
		return t.render(req, withError(resp, err), st.seal())
	case EventUpdate:
		req := t.newRequest(service.EventType(EventUpdate), em.Org, em.Data, key, "")
		resp := withError(service.OK(nil), t.storeRules(ctx, req, rules))
		for _, h := range t.updateHooks() {
			r := t.call(ctx, req, h)
			resp = withError(resp, r.Err)
			resp.Success = resp.Success && r.Success
			resp.Retry = resp.Retry || r.Retry
			resp.Jobs = append(resp.Jobs, r.Jobs...)
		}
		return t.render(req, resp, st.seal())
	}
	st.seal()
	return http.StatusBadRequest, errorBody(fmt.Sprintf("unknown event %q", em.EventName))
}

// errorReport logs what the platform reports and hands it to the service's
// service_error handler, if any; it is always acknowledged.
func (t *Transport) errorReport(ctx context.Context, msg *message) (int, []byte) {
	er := msg.ErrorReport
	t.svc.Logger().Warn("LimaCharlie reported an error about the extension", "oid", er.OID, "error", er.Error)
	if t.svc.Metadata().Implements(service.ServiceError) {
		data, _ := json.Marshal(er)
		ctx, st := withMessage(ctx, msg.IdempotencyKey)
		// Dispatch logs a failure of the handler.
		dispatch(t.svc, ctx, t.newRequest(service.ServiceError, orgAccess{OID: er.OID}, data, msg.IdempotencyKey, ""))
		st.seal()
	}
	return t.ok(nil, nil)
}

// dispatch hands req to the service and answers with its response.
func (t *Transport) dispatch(ctx context.Context, st *msgState, req *service.Request) (int, []byte) {
	resp := dispatch(t.svc, ctx, req)
	return t.render(req, resp, st.seal())
}

// call runs an internal handler with the request's deadline, turning a
// panic into a retryable failure.
func (t *Transport) call(ctx context.Context, req *service.Request, h service.HandlerFunc) (resp service.Response) {
	ctx, cancel := context.WithDeadline(ctx, req.Deadline)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			req.Logger().Error("handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp = service.Retry(fmt.Errorf("handler panicked: %v", v))
		}
	}()
	return h(ctx, req)
}

// worthRetrying reports whether delivering the message again may get past
// err: not when the REST API refused a call for good.
func worthRetrying(err error) bool {
	var final bool
	walk(err, func(e error) {
		var api *tasking.APIError
		if errors.As(e, &api) && api.Status >= 400 && api.Status < 500 {
			switch api.Status {
			case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
			default:
				final = true
			}
		}
	})
	return !final
}

// walk calls fn on err and, through errors.Join, on each error it joins.
func walk(err error, fn func(error)) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			walk(e, fn)
		}
		return
	}
	fn(err)
}

func withError(resp service.Response, err error) service.Response {
	if err != nil {
		resp.Err = errors.Join(resp.Err, err)
	}
	return resp
}

// render maps a service response to the extension's answer:
//
//   - success → 200 with the data (an object) and, when jobs are attached,
//     their JSON under data.jobs (jobs are logged too: extensions have no
//     jobs);
//   - Retry → 500 with retriable set;
//   - failure → 400, not retriable;
//   - a success that carries an error (the rule lifecycle adds its failures
//     to the user's response this way) → 500, retriable, so the platform
//     delivers the message again, unless the REST API refused a call in a
//     way a retry cannot fix (a 4xx other than 401, 408 and 429: a missing
//     permission, say) → 400.
//
// Continuations ride every answer.
func (t *Transport) render(req *service.Request, resp service.Response, conts []continuation) (int, []byte) {
	for _, j := range resp.Jobs {
		if j == nil {
			continue
		}
		var msgs []string
		for _, e := range j.Entries() {
			msgs = append(msgs, e.Message)
		}
		req.Logger().Info("job update", "job_id", j.ID(), "cause", j.Cause(), "closed", j.IsClosed(), "entries", msgs)
	}
	status := http.StatusOK
	var errMsg string
	var retriable *bool
	if !resp.Success || resp.Err != nil {
		r := resp.Retry || (resp.Success && worthRetrying(resp.Err))
		errMsg = "failed"
		if resp.Err != nil {
			errMsg = resp.Err.Error()
		}
		retriable = &r
		status = http.StatusBadRequest
		if r {
			status = http.StatusInternalServerError
		}
	}
	b := appendHead(make([]byte, 0, 256), errMsg, retriable)
	b, err := appendData(b, resp)
	if err != nil {
		// The handler's response cannot be written: a failure saying
		// why, still carrying the continuations (the timeouts of the
		// tasks it sent).
		no := false
		status = http.StatusBadRequest
		b = appendHead(b[:0], "building response: "+err.Error(), &no)
	}
	b, err = appendContinuations(b, conts)
	if err != nil {
		return t.fail(fmt.Errorf("encoding the response: %w", err), false)
	}
	return status, append(b, '}')
}

// appendHead starts an answer: {"version", "error" and "retriable" when set.
func appendHead(b []byte, errMsg string, retriable *bool) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendUint(b, ProtocolVersion, 10)
	if errMsg != "" {
		b = append(b, `,"error":`...)
		b = jsonscan.AppendString(b, errMsg)
	}
	if retriable != nil {
		b = append(b, `,"retriable":`...)
		b = strconv.AppendBool(b, *retriable)
	}
	return b
}

// appendData writes ,"data": resp.Data (an object) with the jobs under
// "jobs" (under "lcsvc_jobs" when the data has a "jobs" field of its own),
// written once with Job.AppendJSON; nothing when there is neither.
func appendData(b []byte, resp service.Response) ([]byte, error) {
	var data []byte
	if resp.Data != nil {
		d, err := json.Marshal(resp.Data)
		if err != nil {
			return b, fmt.Errorf("data: %w", err)
		}
		switch {
		case string(d) == "null":
		case d[0] != '{':
			return b, fmt.Errorf("data must be a JSON object, got %s", d[:min(len(d), 40)])
		default:
			data = d
		}
	}
	if len(resp.Jobs) == 0 {
		switch {
		case data != nil:
			return append(append(b, `,"data":`...), data...), nil
		case resp.Data != nil:
			return append(b, `,"data":{}`...), nil
		}
		return b, nil
	}
	field := `"jobs":[`
	b = append(b, `,"data":`...)
	if data == nil {
		b = append(b, '{')
	} else {
		jsonscan.Members(data, func(k, _ []byte) bool {
			if string(k) == `"jobs"` {
				field = `"lcsvc_jobs":[`
				return false
			}
			return true
		})
		inner := bytes.TrimSpace(data[1 : len(data)-1])
		b = append(append(b, '{'), inner...)
		if len(inner) > 0 {
			b = append(b, ',')
		}
	}
	b = append(b, field...)
	for i, j := range resp.Jobs {
		if j == nil {
			return b, errors.New("a nil job was attached")
		}
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = j.AppendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, "]}"...), nil
}

func appendContinuations(b []byte, conts []continuation) ([]byte, error) {
	if len(conts) == 0 {
		return b, nil
	}
	c, err := json.Marshal(conts)
	if err != nil {
		return b, err
	}
	return append(append(b, `,"continuations":`...), c...), nil
}

// ok is a success with data (nil for none) and continuations.
func (t *Transport) ok(data json.RawMessage, conts []continuation) (int, []byte) {
	b := appendHead(make([]byte, 0, 64+len(data)), "", nil)
	if data != nil {
		b = append(append(b, `,"data":`...), data...)
	}
	b, _ = appendContinuations(b, conts)
	return http.StatusOK, append(b, '}')
}

// fail is a failure raised by the transport itself.
func (t *Transport) fail(err error, retriable bool) (int, []byte) {
	b, _ := json.Marshal(response{Version: ProtocolVersion, Error: err.Error(), Retriable: &retriable})
	if retriable {
		return http.StatusInternalServerError, b
	}
	return http.StatusBadRequest, b
}
