package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// The relay hands a reply or a timeout to the replica that holds the
// task's closures, through Redis publish/subscribe: each replica listens
// on its own channel. Publishing tells how many listened, so a replica
// that is gone is known at once and the reply goes to the task's named
// handler instead (then the orphan handler); a timeout runs its named
// timeout handler (then the default). Publish/subscribe may lose a message
// (a replica stopping as it arrives, a subscription being re-made), so a
// relayed reply is claimed in Redis by whichever runs it: the owner, or,
// after relayClaimAfter without an answer, the replica that relayed it.
// Each reply runs once either way.

// relayReserve is the part of a webhook's deadline kept for answering
// after the owner of a closure did not answer in time.
const relayReserve = time.Second

// relayClaimAfter is how long a replica waits for the owner of a closure
// to answer before trying to claim the reply back; relayClaimLifetime is
// how long Redis keeps a claim (past any webhook's deadline).
const (
	relayClaimAfter    = 2 * time.Second
	relayClaimLifetime = 15 * time.Minute
)

// relayWaitWithoutDeadline bounds the wait for an owner's answer when the
// webhook has no deadline.
const relayWaitWithoutDeadline = 30 * time.Second

// Kinds of relay message.
const (
	relayReply   = "reply"
	relayTimeout = "timeout"
	relayAnswer  = "answer"
)

// relayMsg is one message on a replica's channel.
type relayMsg struct {
	Kind   string `json:"k"`
	Ask    string `json:"a,omitempty"` // pairs an answer with its reply
	From   string `json:"f,omitempty"` // the replica to answer
	TaskID string `json:"id,omitempty"`

	// A reply: the webhook and its event, and whether the task ended.
	OID       string          `json:"oid,omitempty"`
	JWT       string          `json:"jwt,omitempty"`
	MID       string          `json:"mid,omitempty"`
	Deadline  int64           `json:"dl,omitempty"` // unix ms
	Data      json.RawMessage `json:"data,omitempty"`
	Event     json.RawMessage `json:"ev,omitempty"`
	SID       string          `json:"sid,omitempty"`
	Hostname  string          `json:"host,omitempty"`
	Plat      Platform        `json:"plat,omitempty"`
	EventType string          `json:"et,omitempty"`
	EventTime int64           `json:"t,omitempty"` // unix ms
	Handler   string          `json:"h,omitempty"`
	JobID     string          `json:"j,omitempty"`
	State     []byte          `json:"st,omitempty"`
	Replies   int             `json:"n,omitempty"`
	Ended     bool            `json:"end,omitempty"`

	// A timeout: the task's record.
	Record *record `json:"rec,omitempty"`

	// An answer: whether the owner held the closure, and its response.
	Found   bool              `json:"found,omitempty"`
	Success bool              `json:"ok,omitempty"`
	Retry   bool              `json:"retry,omitempty"`
	Error   string            `json:"err,omitempty"`
	Resp    json.RawMessage   `json:"resp,omitempty"` // the response's data
	Jobs    []json.RawMessage `json:"jobs,omitempty"`
}

// relay is a replica's end of the relay.
type relay struct {
	s           *Service
	client      redis.UniversalClient
	prefix      string
	self        string
	callTimeout time.Duration // of a publish
	pubsub      *redis.PubSub

	mu      sync.Mutex
	waiting map[string]chan relayMsg // replies relayed from here, by ask
	running sync.WaitGroup
}

func (rl *relay) channel(replica string) string { return rl.prefix + "replica:" + replica }

// startRelay subscribes to this replica's channel and serves it until close.
func startRelay(ctx context.Context, s *Service, client redis.UniversalClient, prefix, self string, timeout time.Duration) (*relay, error) {
	rl := &relay{s: s, client: client, prefix: prefix, self: self, callTimeout: timeout, waiting: map[string]chan relayMsg{}}
	rl.pubsub = client.Subscribe(ctx, rl.channel(self))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := rl.pubsub.Receive(ctx); err != nil {
		rl.pubsub.Close()
		return nil, fmt.Errorf("interactive: subscribing to the replicas' relay in Redis: %w", err)
	}
	ch := rl.pubsub.Channel(redis.WithChannelSize(1024))
	rl.running.Add(1)
	go func() {
		defer rl.running.Done()
		for m := range ch {
			rl.receive([]byte(m.Payload))
		}
	}()
	return rl, nil
}

// close stops listening once the messages being handled are done.
func (rl *relay) close() error {
	err := rl.pubsub.Close()
	rl.running.Wait()
	return err
}

// publish sends m to replica and reports whether it was listening.
func (rl *relay) publish(ctx context.Context, replica string, m relayMsg) (bool, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rl.callTimeout)
	defer cancel()
	n, err := rl.client.Publish(ctx, rl.channel(replica), b).Result()
	return n > 0, err
}

// receive handles one message from this replica's channel.
func (rl *relay) receive(b []byte) {
	var m relayMsg
	if err := json.Unmarshal(b, &m); err != nil {
		rl.s.Logger().Error("dropping a malformed relay message", "error", err.Error())
		return
	}
	switch m.Kind {
	case relayAnswer:
		rl.mu.Lock()
		ch := rl.waiting[m.Ask]
		delete(rl.waiting, m.Ask)
		rl.mu.Unlock()
		if ch != nil {
			ch <- m
			return
		}
		// The webhook stopped waiting: its job updates ride the next
		// response to the organization instead.
		rl.queueJobs(m)
	case relayReply:
		rl.spawn(func(ctx context.Context) { rl.serveReply(ctx, m) }, func() {
			rl.answer(context.Background(), m, relayMsg{Found: false})
		})
	case relayTimeout:
		// Refused while stopping: the sweeping replica takes it back.
		rl.spawn(func(ctx context.Context) { rl.serveTimeout(ctx, m) }, func() {})
	}
}

// spawn runs fn as the service's background work, or refused when the
// service is stopping.
func (rl *relay) spawn(fn func(context.Context), refused func()) {
	if !rl.s.Go(fn) {
		refused()
	}
}

// reply hands a reply whose closure owner holds to that replica, and
// returns its response. ok is false when owner is gone or no longer holds
// the closure: the caller then routes the reply as if no closure were
// pending.
func (rl *relay) reply(ctx context.Context, owner string, r *Reply, ended bool) (resp service.Response, ok bool) {
	ask := uuid.NewString()
	ch := make(chan relayMsg, 1)
	rl.mu.Lock()
	rl.waiting[ask] = ch
	rl.mu.Unlock()
	defer func() {
		rl.mu.Lock()
		delete(rl.waiting, ask)
		rl.mu.Unlock()
	}()
	m := relayMsg{Kind: relayReply, Ask: ask, From: rl.self, TaskID: string(r.TaskID),
		OID: r.Org.ID, JWT: r.Org.JWT, Data: r.Request.Data, Event: r.event,
		SID: r.SID, Hostname: r.Hostname, Plat: r.Platform, EventType: r.EventType, EventTime: r.EventTime.UnixMilli(),
		Handler: r.Handler, State: r.state, Replies: r.Replies, Ended: ended}
	if r.Request != nil {
		m.MID = r.Request.MessageID
	}
	if r.Job != nil {
		m.JobID = r.Job.ID()
	}
	wait := relayWaitWithoutDeadline
	if dl, has := ctx.Deadline(); has {
		wait = time.Until(dl) - relayReserve
		m.Deadline = dl.Add(-relayReserve).UnixMilli()
	} else {
		m.Deadline = time.Now().Add(wait).UnixMilli()
	}
	listening, err := rl.publish(ctx, owner, m)
	if err != nil || !listening {
		if err != nil {
			rl.s.Logger().Warn("could not relay a reply to the replica holding its closure", "task_id", string(r.TaskID), "error", err.Error())
		}
		return service.Response{}, false
	}
	// The owner claims the reply before running its closure. A message
	// can be lost (the owner stopping, a dropped subscription): with no
	// answer after a while, claim it here; winning means the closure never
	// ran, and the reply goes on to the named handler.
	a, answered := rl.await(ctx, ch, min(relayClaimAfter, wait))
	if !answered && ctx.Err() == nil {
		won, err := rl.claim(ctx, ask)
		if err == nil && won {
			rl.s.Logger().Warn("the replica holding a reply's closure did not take it; routing it here", "task_id", string(r.TaskID))
			return service.Response{}, false
		}
		a, answered = rl.await(ctx, ch, wait-relayClaimAfter)
	}
	if answered {
		if !a.Found {
			return service.Response{}, false
		}
		return rl.response(a), true
	}
	// The owner runs the closure but did not answer in time: the reply is
	// handled there, and its job updates ride a later response.
	rl.s.Logger().Warn("the replica holding a reply's closure did not answer within the webhook's deadline; its job updates follow with a later response",
		"task_id", string(r.TaskID))
	return service.OK(nil), true
}

// await waits up to d for the answer on ch.
func (rl *relay) await(ctx context.Context, ch <-chan relayMsg, d time.Duration) (relayMsg, bool) {
	if d <= 0 {
		select {
		case a := <-ch:
			return a, true
		default:
			return relayMsg{}, false
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case a := <-ch:
		return a, true
	case <-t.C:
	case <-ctx.Done():
	}
	return relayMsg{}, false
}

// claim takes the relayed reply ask for this replica: exactly one of the
// owner (about to run the closure) and the replica that relayed it (giving
// up on the owner) wins.
func (rl *relay) claim(ctx context.Context, ask string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rl.callTimeout)
	defer cancel()
	return rl.client.SetNX(ctx, rl.prefix+"relay:"+ask, rl.self, relayClaimLifetime).Result()
}

// response decodes an answer into the response it carries.
func (rl *relay) response(a relayMsg) service.Response {
	resp := service.Response{Success: a.Success, Retry: a.Retry}
	if a.Error != "" {
		resp.Err = errors.New(a.Error)
	}
	if len(a.Resp) > 0 {
		resp.Data = a.Resp
	}
	resp.Jobs = rl.decodeJobs(a)
	return resp
}

func (rl *relay) decodeJobs(a relayMsg) []*jobs.Job {
	var out []*jobs.Job
	for _, b := range a.Jobs {
		j := new(jobs.Job)
		if err := json.Unmarshal(b, j); err != nil {
			rl.s.Logger().Error("dropping a relayed job update that cannot be decoded", "task_id", a.TaskID, "error", err.Error())
			continue
		}
		out = append(out, j)
	}
	return out
}

// queueJobs queues the job updates of an answer nobody waits for.
func (rl *relay) queueJobs(a relayMsg) {
	for _, j := range rl.decodeJobs(a) {
		rl.s.orgs.queue(context.Background(), a.OID, j)
	}
}

// serveReply runs the closure of a reply another replica relayed here and
// answers with its response.
func (rl *relay) serveReply(ctx context.Context, m relayMsg) {
	c, ok := rl.s.sharedClosures(ctx, m.TaskID, m.Ended)
	if !ok || c.then == nil {
		rl.answer(ctx, m, relayMsg{Found: false})
		return
	}
	if won, err := rl.claim(ctx, m.Ask); err != nil || !won {
		// The replica that relayed it gave up and routed it itself (or,
		// on an error, may yet): the closure must not run too.
		if err != nil {
			rl.answer(ctx, m, relayMsg{Found: false})
		}
		return
	}
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(m.Deadline))
	defer cancel()
	org := tasking.Org{ID: m.OID, JWT: m.JWT}
	req := newRequest(rl.s.Service, service.Detection, org, m.Data)
	req.MessageID, req.Deadline = m.MID, time.UnixMilli(m.Deadline)
	ctx = withOrigin(ctx, "webhook", string(service.Detection), m.OID, m.MID)
	r := rl.s.newReply(req, m.TaskID, m.Handler, m.JobID, m.State, m.Event, time.Time{}) // no ended-task record with a shared store
	r.SID, r.Hostname, r.Platform, r.EventType = m.SID, m.Hostname, m.Plat, m.EventType
	r.EventTime, r.Replies = time.UnixMilli(m.EventTime), m.Replies
	if r.EventType == "RECEIPT" {
		r.Err, r.Final = receiptError(r.event)
	}
	rl.s.counters.relayServed.Add(1)
	resp := withJob(rl.s.runReply(ctx, c.then, r), r.Job)
	rl.answer(ctx, m, answerOf(resp))
}

// runReply runs a reply handler outside a webhook, a panic answered retry.
func (s *Service) runReply(ctx context.Context, h ReplyHandler, r *Reply) (resp service.Response) {
	defer func() {
		if v := recover(); v != nil {
			s.Logger().Error("reply handler panicked", "panic", fmt.Sprint(v), "task_id", string(r.TaskID))
			resp = service.Retry(fmt.Errorf("the reply handler panicked: %v", v))
		}
	}()
	return h(ctx, r)
}

// answerOf encodes a response for the relay.
func answerOf(resp service.Response) relayMsg {
	a := relayMsg{Found: true, Success: resp.Success, Retry: resp.Retry}
	if resp.Err != nil {
		a.Error = resp.Err.Error()
	}
	if resp.Data != nil {
		b, err := json.Marshal(resp.Data)
		if err != nil {
			return relayMsg{Found: true, Error: fmt.Sprintf("building response: data: %v", err)}
		}
		a.Resp = b
	}
	for _, j := range resp.Jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return relayMsg{Found: true, Error: fmt.Sprintf("building response: job: %v", err)}
		}
		a.Jobs = append(a.Jobs, b)
	}
	return a
}

// answer sends a to the replica that relayed m; if it is gone, the job
// updates ride the next response to the organization.
func (rl *relay) answer(ctx context.Context, m, a relayMsg) {
	a.Kind, a.Ask, a.TaskID, a.OID = relayAnswer, m.Ask, m.TaskID, m.OID
	listening, err := rl.publish(ctx, m.From, a)
	if err != nil || !listening {
		rl.queueJobs(a)
	}
}

// timeout hands a timeout whose closure owner holds to that replica. It
// reports false when owner is gone: the caller runs the timeout itself.
// When it reports true, the timeout runs exactly once: in the owner if it
// claims it (at once, on receipt), else, after relayClaimAfter, here, with
// the named timeout handler (the message was lost).
func (rl *relay) timeout(e tracking.Entry[record]) bool {
	rec := e.Value
	ask := uuid.NewString()
	m := relayMsg{Kind: relayTimeout, Ask: ask, From: rl.self, TaskID: e.ID, Replies: e.Replies, Record: &rec}
	listening, err := rl.publish(context.Background(), rec.Owner, m)
	if err != nil {
		rl.s.Logger().Warn("could not relay a timeout to the replica holding its closure; running it here", "task_id", e.ID, "error", err.Error())
	}
	if err != nil || !listening {
		return false
	}
	takeBack := func(ctx context.Context) {
		if won, err := rl.claim(ctx, ask); err == nil && won {
			rl.s.Logger().Warn("the replica holding a timeout's closure did not take it; running the timeout here", "task_id", e.ID)
			rl.s.runSharedTimeout(withoutClosures(e))
		}
	}
	started := rl.s.Go(func(ctx context.Context) {
		t := time.NewTimer(relayClaimAfter)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done(): // stopping: decide now
		}
		takeBack(ctx)
	})
	if !started {
		takeBack(context.Background())
	}
	return true
}

// withoutClosures is e for a replica that does not hold its closures.
func withoutClosures(e tracking.Entry[record]) tracking.Entry[record] {
	e.Value.Owner, e.Value.HasThen, e.Value.HasOnTimeout = "", false, false
	return e
}

// serveTimeout runs, with its closure, the timeout of a task this replica
// sent and another replica's sweep claimed, once it has claimed it.
func (rl *relay) serveTimeout(ctx context.Context, m relayMsg) {
	if m.Record == nil {
		return
	}
	if won, err := rl.claim(ctx, m.Ask); err != nil || !won {
		return // the sweeping replica took it back and runs it
	}
	c := m.Record.continuation()
	if l, ok := rl.s.sharedClosures(ctx, m.TaskID, true); ok {
		c.then, c.onTimeout = l.then, l.onTimeout
	}
	if !rl.s.handleTimeout(tracking.Entry[*continuation]{ID: m.TaskID, Value: c, Replies: m.Replies}) {
		rl.giveBack(m)
	}
}

// giveBack returns a relayed timeout this replica claimed but cannot run,
// as it is stopping, to Redis for another replica's sweep (without its
// closure).
func (rl *relay) giveBack(m relayMsg) {
	if m.Record == nil {
		return
	}
	rl.s.giveBack(tracking.Entry[record]{ID: m.TaskID, Value: *m.Record, Expires: rl.s.clock.Now()})
}
