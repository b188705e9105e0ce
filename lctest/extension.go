package lctest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Protocol is the webhook protocol the cloud speaks to a service.
type Protocol int

const (
	// ServiceProtocol is LimaCharlie's service protocol: etype envelopes
	// signed with lc-svc-sig, answered {success, retry, error, data, jobs}.
	// The default.
	ServiceProtocol Protocol = iota
	// Extension is LimaCharlie's extension protocol: one message per POST
	// (heartbeat, schema_request, request, event, error_report) signed
	// with lc-ext-sig, answered with an HTTP status that carries meaning.
	Extension
)

// String names the protocol: "service" or "extension".
func (p Protocol) String() string {
	switch p {
	case ServiceProtocol:
		return "service"
	case Extension:
		return "extension"
	}
	return "Protocol(?)"
}

// ExtensionSignatureHeader is the request header carrying an extension
// message's signature: Sign of the decompressed body.
const ExtensionSignatureHeader = "lc-ext-sig"

// ExtensionVersion is the extension protocol version the cloud sends.
const ExtensionVersion = 20221218

// Limits the cloud puts on an extension's continuations.
const (
	MaxContinuationDelay = 300 * time.Second // per continuation
	MaxContinuationLevel = 10                // chain depth
	MaxContinuations     = 100               // per response
)

// DefaultRequestAction is the action Request sends to an extension whose
// schema marks no action as the default.
const DefaultRequestAction = "request"

// Continuation is what an extension's response asks the cloud to deliver
// later: a request with Action and data State after InDelaySec seconds.
type Continuation struct {
	InDelaySec int64           `json:"in_delay_sec"`
	Action     string          `json:"action"`
	State      json.RawMessage `json:"state"`
}

// ExtensionSchema is what an extension answered schema_request with.
type ExtensionSchema struct {
	Actions        []string // the request_schema's actions, sorted
	DefaultAction  string   // the action marked is_default, if any
	RequiredEvents []string
	Raw            json.RawMessage // the whole data
}

// Schema returns the schema an extension answered at registration (zero
// for a service).
func (s *Service) Schema() ExtensionSchema {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.schema
	sc.Actions, sc.RequiredEvents = slices.Clone(sc.Actions), slices.Clone(sc.RequiredEvents)
	return sc
}

// Protocol returns the protocol the cloud speaks to the service.
func (s *Service) Protocol() Protocol { return s.protocol }

// registerExtension sends heartbeat and schema_request and keeps the schema.
func (s *Service) registerExtension(ctx context.Context) error {
	resp, err := s.sendExt(ctx, extMsg{kind: "heartbeat"})
	if err == nil && !resp.Success {
		err = fmt.Errorf("heartbeat answered HTTP %d: %s", resp.Status, resp.Error)
	}
	if err != nil {
		return err
	}
	resp, err = s.sendExt(ctx, extMsg{kind: "schema_request"})
	if err == nil && !resp.Success {
		err = fmt.Errorf("schema_request answered HTTP %d: %s", resp.Status, resp.Error)
	}
	if err != nil {
		return err
	}
	var w struct {
		RequestSchema map[string]struct {
			IsDefault bool `json:"is_default"`
		} `json:"request_schema"`
		RequiredEvents []string `json:"required_events"`
	}
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &w); err != nil {
			return fmt.Errorf("schema_request data is not a schema: %w", err)
		}
	}
	sc := ExtensionSchema{RequiredEvents: w.RequiredEvents, Raw: resp.Data}
	for name, rs := range w.RequestSchema {
		sc.Actions = append(sc.Actions, name)
		if rs.IsDefault {
			sc.DefaultAction = name
		}
	}
	sort.Strings(sc.Actions)
	s.mu.Lock()
	s.schema = sc
	s.mu.Unlock()
	return nil
}

// Update sends an extension the update event about org (LimaCharlie sends
// it about daily to every subscribed organization). It needs the Extension
// protocol and the extension subscribed in org.
func (s *Service) Update(ctx context.Context, org *Org) (Response, error) {
	if s.protocol != Extension {
		return Response{}, fmt.Errorf("lctest: Update %q: only extensions get update", s.name)
	}
	if err := s.mustBeInstalled("update", org); err != nil {
		return Response{}, err
	}
	return s.extEvent(ctx, org, "update")
}

// RequestAction sends an extension a request with action and data about
// org, where it must be subscribed. Request sends the default action.
func (s *Service) RequestAction(ctx context.Context, org *Org, action string, data any) (Response, error) {
	if s.protocol != Extension {
		return Response{}, fmt.Errorf("lctest: RequestAction %q: a service has no actions: use Request", s.name)
	}
	if err := s.mustBeInstalled("request", org); err != nil {
		return Response{}, err
	}
	raw, err := encodeData(data)
	if err != nil {
		return Response{}, fmt.Errorf("lctest: request %s: %w", action, err)
	}
	return s.sendExt(ctx, extMsg{kind: "request", org: org, action: action, data: raw})
}

// defaultAction is the action Request sends.
func (s *Service) defaultAction() string {
	if a := s.Schema().DefaultAction; a != "" {
		return a
	}
	return DefaultRequestAction
}

// extEvent sends event name about org, unless the schema's required_events
// leave it out (then nothing is sent and the response is zero).
func (s *Service) extEvent(ctx context.Context, org *Org, name string) (Response, error) {
	if !slices.Contains(s.Schema().RequiredEvents, name) {
		return Response{}, nil
	}
	return s.sendExt(ctx, extMsg{kind: "event", org: org, action: name, data: json.RawMessage(`{}`)})
}

func encodeData(data any) (json.RawMessage, error) {
	if data == nil {
		return json.RawMessage(`{}`), nil
	}
	if r, ok := data.(json.RawMessage); ok {
		return r, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding data: %w", err)
	}
	return b, nil
}

// extMsg is one extension message to send.
type extMsg struct {
	kind   string // heartbeat, schema_request, request, event, error_report
	org    *Org
	action string          // request action or event name
	data   json.RawMessage // request or event data; the content itself for other kinds
	key    string          // idempotency key; fresh when empty
	level  int             // continuation level of this message
	det    *Detection      // for the record
	raw    bool            // data is the content as is (Deliver)
}

// deliverExt is Deliver for an extension: etype is the kind of content,
// data the content itself.
func (s *Service) deliverExt(ctx context.Context, etype string, org *Org, data any) (Response, error) {
	raw, err := encodeData(data)
	if err != nil {
		return Response{}, fmt.Errorf("lctest: Deliver %s: %w", etype, err)
	}
	return s.sendExt(ctx, extMsg{kind: etype, org: org, data: raw, raw: true})
}

// envelope returns the JSON of m's message.
func (m extMsg) envelope() ([]byte, error) {
	content := any(m.data)
	org := func() map[string]string {
		return map[string]string{"oid": m.org.OID, "jwt": m.org.JWT, "ident": "lctest@" + m.org.OID}
	}
	switch {
	case m.raw:
	case m.kind == "request":
		content = map[string]any{"org": org(), "action": m.action, "data": m.data, "config": map[string]any{}, "resource_state": map[string]any{}, "inv_id": ""}
	case m.kind == "event":
		content = map[string]any{"org": org(), "event_name": m.action, "data": m.data, "config": map[string]any{}}
	case m.data == nil:
		content = map[string]any{}
	}
	return json.Marshal(map[string]any{"version": ExtensionVersion, "idempotency_key": m.key, m.kind: content})
}

// sendExt delivers m, redelivering it with the same idempotency key while
// the extension answers 500 retriable, and schedules the continuations of
// a successful answer.
func (s *Service) sendExt(ctx context.Context, m extMsg) (Response, error) {
	if m.key == "" {
		m.key = newUUID()
	}
	body, err := m.envelope()
	if err != nil {
		return Response{}, fmt.Errorf("lctest: %s: encoding the message: %w", m.kind, err)
	}
	c := s.cloud
	if !c.begin() {
		return Response{}, ErrClosed
	}
	defer c.finish()
	ctx, stop := c.withCloudContext(ctx)
	defer stop()

	hdr := http.Header{ExtensionSignatureHeader: {Sign(s.secret, body)}}
	wire := body
	if !s.plain {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		wire = b.Bytes()
		hdr.Set("Content-Encoding", "gzip")
	}
	what := m.kind
	if m.action != "" {
		what += " " + m.action
	}
	oid := ""
	if m.org != nil {
		oid = m.org.OID
	}
	return s.send(ctx, &message{svc: s, etype: m.kind, action: m.action, what: what, oid: oid, mid: m.key,
		body: body, wire: wire, hdr: hdr, det: m.det, ext: &m})
}

// extResponseWire is the JSON shape of an extension's answer.
type extResponseWire struct {
	Error         string          `json:"error"`
	Retriable     *bool           `json:"retriable"`
	Data          json.RawMessage `json:"data"`
	Continuations []Continuation  `json:"continuations"`
}

// decodeExtResponse reads an extension's answer: 200 is a success, 400 a
// failure not to retry, 500 a failure to retry unless retriable is false;
// any other status, or a body that is not a JSON object, is an error. Jobs
// are read from data.jobs, where the framework puts them.
func decodeExtResponse(status int, body []byte) (Response, error) {
	r := Response{Status: status}
	switch status {
	case http.StatusOK, http.StatusBadRequest, http.StatusInternalServerError:
	default:
		return r, fmt.Errorf("answered HTTP %d (%s): %s", status, http.StatusText(status), clip(body))
	}
	var w extResponseWire
	if err := json.Unmarshal(body, &w); err != nil {
		return r, fmt.Errorf("answered HTTP %d with a body that is not the response JSON object (%v): %s", status, err, clip(body))
	}
	r.Error, r.Data, r.Continuations = w.Error, w.Data, w.Continuations
	switch status {
	case http.StatusOK:
		r.Success = true
	case http.StatusInternalServerError:
		r.Retry = w.Retriable == nil || *w.Retriable
	}
	if len(w.Data) > 0 {
		var d struct {
			Jobs []Job `json:"jobs"`
		}
		if json.Unmarshal(w.Data, &d) == nil {
			r.Jobs = d.Jobs
		}
	}
	return r, nil
}

// extensionCall is an extension request a rule's response makes.
type extensionCall struct {
	name, action string
	data         map[string]any
	det          *Detection
}

// callExtensions delivers the extension requests of rules, each to the
// extension of that name subscribed in org; a request for an extension
// not subscribed there is recorded as a rule error.
func (c *Cloud) callExtensions(ctx context.Context, org *Org, calls []extensionCall) {
	for _, call := range calls {
		if ctx.Err() != nil {
			return
		}
		s := c.service(call.name)
		if s == nil || s.protocol != Extension || !s.Installed(org) {
			c.notify(Activity{Kind: ActivityRuleError, OID: org.OID, What: call.action,
				Err: fmt.Errorf("extension request to %q: no such extension is subscribed in the organization", call.name)})
			continue
		}
		data, err := json.Marshal(call.data)
		if err != nil {
			continue
		}
		_, _ = s.sendExt(ctx, extMsg{kind: "request", org: org, action: call.action, data: data, det: call.det})
	}
}

// pendingContinuation is a continuation waiting for its delay.
type pendingContinuation struct {
	svc   *Service
	msg   extMsg
	due   time.Time
	taken chan struct{} // closed when fired or claimed by RunContinuations
}

// addContinuations schedules what a response to m asked for, within the
// limits: none past MaxContinuationLevel or MaxContinuations, no delay
// past MaxContinuationDelay. What is refused is recorded as a rule error.
func (c *Cloud) addContinuations(s *Service, m extMsg, conts []Continuation) {
	refuse := func(err error) {
		c.notify(Activity{Kind: ActivityRuleError, OID: m.org.OID, Service: s.name, MID: m.key, What: "continuation", Err: err})
	}
	switch {
	case m.level >= MaxContinuationLevel:
		refuse(fmt.Errorf("continuations refused: the message was continuation level %d of %d", m.level, MaxContinuationLevel))
		return
	case len(conts) > MaxContinuations:
		refuse(fmt.Errorf("continuations refused: the response carries %d, at most %d allowed", len(conts), MaxContinuations))
		return
	}
	for i, k := range conts {
		delay := time.Duration(k.InDelaySec) * time.Second
		if k.InDelaySec < 0 || delay > MaxContinuationDelay || k.Action == "" {
			refuse(fmt.Errorf("continuation %d (%q, in %d s) refused: give an action and a delay of 0 to %d s", i, k.Action, k.InDelaySec, int(MaxContinuationDelay/time.Second)))
			continue
		}
		parent := m.key
		if i > 0 {
			parent = fmt.Sprintf("%s.%d", m.key, i)
		}
		state := k.State
		if len(state) == 0 || string(state) == "null" {
			state = json.RawMessage(`{}`)
		}
		next := extMsg{kind: "request", org: m.org, action: k.Action, data: state,
			key: fmt.Sprintf("%s:%d", parent, m.level+1), level: m.level + 1}
		c.scheduleContinuation(&pendingContinuation{svc: s, msg: next, due: time.Now().Add(delay), taken: make(chan struct{})}, delay)
	}
}

// scheduleContinuation fires p after delay on a goroutine of its own; a
// continuation due now counts as work in flight (WaitIdle waits for it), a
// later one does not until it fires.
func (c *Cloud) scheduleContinuation(p *pendingContinuation, delay time.Duration) {
	if delay <= 0 {
		if !c.begin() {
			return
		}
		go func() {
			defer c.finish()
			_, _ = p.svc.sendExt(c.ctx, p.msg)
		}()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.pending = append(c.pending, p)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.taken:
			return
		case <-c.ctx.Done():
			return
		}
		if !c.takePending(p) || !c.begin() {
			return
		}
		defer c.finish()
		_, _ = p.svc.sendExt(c.ctx, p.msg)
	}()
}

// takePending removes p from the pending continuations and reports
// whether it was still there.
func (c *Cloud) takePending(p *pendingContinuation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.pending, p)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	close(p.taken)
	return true
}

// PendingContinuations returns how many continuations are waiting for
// their delay.
func (c *Cloud) PendingContinuations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// RunContinuations fires every continuation waiting for its delay now,
// without waiting, in the order they fall due, one after the other, and
// returns how many it fired. Continuations their answers ask for wait for
// the next call (or fire at once when their delay is 0). Tests use it in
// place of the platform's timer: a continuation otherwise fires after its
// delay in real time, and WaitIdle does not wait for one not yet due.
func (c *Cloud) RunContinuations(ctx context.Context) (int, error) {
	c.mu.Lock()
	due := slices.Clone(c.pending)
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *pendingContinuation) int { return a.due.Compare(b.due) })
	n := 0
	var errs []error
	for _, p := range due {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if !c.takePending(p) {
			continue
		}
		n++
		if _, err := p.svc.sendExt(ctx, p.msg); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// scheduleDoc is the {routing, event} a schedule event runs through rules as.
func scheduleDoc(org *Org, s *Sensor, name string) map[string]any {
	routing := map[string]any{"oid": org.OID, "event_type": name, "event_time": json.Number(fmt.Sprint(time.Now().UnixMilli()))}
	if s != nil {
		routing["sid"] = s.SID
		routing["hostname"] = s.Hostname()
	}
	return map[string]any{"routing": routing, "event": map[string]any{}}
}

// validSchedule reports whether name is <N>h_per_org or <N>h_per_sensor.
func validSchedule(name string) (perSensor, ok bool) {
	n, per, found := strings.Cut(name, "h_per_")
	if !found || n == "" || strings.Trim(n, "0123456789") != "" || (per != "org" && per != "sensor") {
		return false, false
	}
	return per == "sensor", true
}
