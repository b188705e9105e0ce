// Package interactive builds LimaCharlie services that task sensors and act
// on what the sensors answer.
//
// An interactive Service is a service.Service (its event handlers, request
// parameters, commands and server are promoted) that also holds reply
// handlers. Create it with New, register handlers, and serve it:
//
//	svc, err := interactive.New("os-version", secret, interactive.WithAPIURL(os.Getenv("LC_API_URL")))
//	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
//		_, err := svc.Task(ctx, req.Org(), req.SID(), "os_version", interactive.Then(gotVersion))
//		…
//	})
//	err = svc.ListenAndServe(ctx, "")
//
// The service stores a "replicant" D&R rule in every organization that
// installs it (and again every hour, so a deleted rule heals itself), which
// reports every sensor event whose investigation_id starts with
// svc-<name>-ex/ back to the service as a detection. Task sends a sensor
// command tagged with a signed token in that investigation_id; when the
// answer comes back the token is verified and the answer is routed:
//
//  1. to the closure given with Then, if this process still holds it;
//  2. else to the reply handler named with Via (registered with HandleReply
//     at start-up) — this path needs no memory of the task, so it works
//     after a restart and on another replica;
//  3. else to the orphan handler (default: log and answer success).
//
// A token whose tag does not verify, or that has expired, never reaches user
// code: it is counted in Stats and logged (at most a line every few
// seconds, with a count of those not logged). The token is keyed from the
// service's shared secret and bound to its name and to the organization
// and sensor the task was sent to, which the tag covers without making the
// investigation_id longer (the reply's routing supplies them): the same
// investigation_id echoed by another sensor, or seen in another
// organization's detection, is refused like a forgery. Every task goes to
// one sensor; there is no task sent to a selector of sensors whose answers
// could come from several.
//
// # Organizations
//
// Every call on an organization's behalf takes a tasking.Org: its id and
// the JWT the platform sent with the message being handled. A webhook
// yields it with Request.Org, a reply with Reply.Org, a timeout with
// Timeout.Org (the latest JWT this process has seen for the organization).
//
// # Redeliveries
//
// A task's id, which is also the idempotency key its API call carries, is
// derived from the message being handled (its event type, organization and
// mid), the sensor, the command line and how many tasks with that sensor
// and command line the handler sent before; the derivation is keyed from
// the shared secret, so nobody else can predict the keys. A message
// handled again — redelivered by the cloud after a retry answer, or
// handled by two replicas — therefore sends the same keys and the API
// tasks each sensor once; in this process, a task still pending is not
// sent again at all. Keep what a handler tasks, for a given message,
// deterministic (the order of its goroutines does not matter). A task sent
// from a timeout handler derives its id from the task that timed out; one
// sent under a context that comes from no handler gets a random id.
//
// The base service answers a redelivery from its record of the first
// answer (see the service package's "Deliveries"), so in one process the
// handler does not even run again. Across replicas that share Redis
// (WithRedisURL) neither does it there; across replicas without it, it
// does: no sensor is tasked twice, but what the handler does besides (a
// new job, for instance) happens again.
//
// # Timeouts
//
// Every task has a TTL (TTL, default WithDefaultTTL). If no answer arrives
// in time its timeout fires exactly once: the OnTimeout handler, or by
// default a narration that closes the task's job as failed. Timeouts are
// kept by the process that sent the task, unless the replicas share Redis
// (see "Running several replicas").
//
// Tests drive time instead of sleeping: WithClock(tracking.NewManualClock(…))
// and the clock's Advance, which returns once the timeouts that became due
// have been handled.
//
// # Served as an extension
//
// Built with interactive.WithServiceOptions(extension.Serve()) (or the option
// extension.Select returns), the same service is served as a LimaCharlie
// extension and its user code does not change. What differs:
//
//   - The replicant rule is stored on subscribe, stored again on every
//     update (about daily), deleted on unsubscribe. It matches the same
//     events and responds with an extension request to this extension (its
//     registered name, extension.WithExtensionName), action ReplyAction,
//     whose transform passes the sensor event and its routing
//     ({"event": "event", "routing": "routing"}). The rule is the only one:
//     no detection subscription and no hourly tick are needed.
//   - An answer arrives as a ReplyAction request. It passes through the
//     service's middleware as a detection would, and is verified and routed
//     by the same code: closure, named handler, orphan. A ReplyAction
//     request whose investigation_id is not this service's is refused, not
//     handed to OnDetection.
//   - Every task sent while handling an extension message also rides the
//     response as a continuation (TimeoutAction, carrying the task's signed
//     token), renewed in steps of at most 300 s until the task's expiry: a
//     timer the platform keeps. When it arrives after the expiry, the
//     process that sent the task and still holds it leaves the timeout to
//     its own timer; any other process (restarted, another replica, or one
//     that evicted the task for space) fires it — with the timeout handler
//     registered under the task's Via name (HandleTimeout), else the
//     default — and answers with the job's update. A process fires a
//     task's timeout once, and never for a task it saw answered. Across
//     replicas the guarantee is per process: two replicas that both lost
//     the task may both fire it. The platform allows 10 steps, so a TTL
//     over 50 minutes is timed out only by the process that sent the task.
//   - Jobs have no counterpart on extensions: the extension package puts
//     their JSON in the response's data and logs each update.
//
// # Running several replicas
//
// A service that outgrows one process runs as several replicas behind a
// load balancer, and the platform delivers each answer to whichever
// replica it reaches. Give every replica the same name, secret, handlers
// and WithRedisURL (the examples read LC_REDIS_URL); then they share:
//
//   - Pending tasks. Any replica resolves a task another one sent, and
//     every task is resolved or timed out exactly once across all of them:
//     the decision is one atomic step in Redis. Expired tasks are claimed
//     by whichever replica sweeps first (every second).
//   - Closures, through their owner. A closure (Then, OnTimeout) cannot
//     leave the process that made it. A reply for it that reaches another
//     replica is handed to the owner through Redis publish/subscribe; the
//     closure runs there and its response, job updates included, comes back
//     as the answer to the webhook, within the webhook's deadline. If the
//     owner is gone (stopped, restarted), or does not take the reply within
//     two seconds, the task's named handler runs instead (Via), else the
//     orphan handler; a claim in Redis makes sure only one of them runs. A closure timeout likewise
//     runs in its owner; if the owner is gone, the timeout handler
//     registered under the task's Via name runs (HandleTimeout), else the
//     default. So: use Via names, with HandleReply and HandleTimeout
//     registered on every replica, for anything that must survive a
//     replica stopping; use closures for convenience, paired with Via when
//     the outcome matters.
//   - De-duplication of redelivered messages, by mid, for an hour: a
//     message delivered again to another replica is answered with the first
//     answer, without running the handler again.
//   - Each organization's latest JWT, for timeout handlers on any replica.
//   - The job updates of timeouts, kept in Redis until a successful response
//     to their organization, from any replica, carries them: a replica that
//     stops loses none. (A replica looks for them at most once a second per
//     organization while it finds none, so a busy organization's webhooks
//     cost no extra round trip.)
//
// Served as an extension, the shared store times tasks out and no timeout
// continuations are set.
//
// New fails if Redis does not answer. While Redis is down, a webhook that
// needs it is answered retry (a task, a reply to resolve; Task's error is
// transient for service.FailOrRetry), so the platform delivers it again
// and nothing is lost; de-duplication is skipped (the service's "Deliveries"
// behaviour), timeouts wait for the next sweep that reaches Redis, and
// timeout job updates wait in the process that made them. Every Redis call
// is bounded by tracking.DefaultCallTimeout.
//
// What sharing costs: a reply's webhook makes three Redis round trips (the
// delivery's claim, resolving the task, recording the answer); a reply
// relayed to the replica holding its closure adds a publish each way and a
// claim. On a 2-core machine with Redis on loopback, a 2.8 KB reply took
// about 18 µs in memory, 160 µs with Redis and 460 µs relayed
// (BenchmarkReplyPathStore in this package), most of the difference spent
// waiting on the round trips.
//
// # Jobs
//
// A task may carry a job (WithJob). Its continuation gets the job reopened
// by id; whatever the continuation narrates is sent in the response to the
// webhook that carried the reply. A timeout handler has no response of its
// own to ride: its job updates are queued and sent with the next successful
// response to that organization (any event, such as the hourly tick that
// also re-stores the rule).
package interactive
