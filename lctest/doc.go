// Package lctest is an emulated LimaCharlie cloud for testing services,
// in the spirit of net/http/httptest: "unit test via fake sensor
// responder".
//
// A test starts a Cloud, creates organizations and fake sensors, points
// the service's API base URL at Cloud.URL, registers the service (an
// in-process http.Handler, a URL, or replicas behind a load balancer) and
// delivers signed webhooks to it.
// When the service tasks a sensor through the REST API, the sensor
// answers: a CLOUD_NOTIFICATION receipt, then its reply events, each
// carrying the task's investigation_id. The cloud runs every event through
// the organization's stored D&R rules and sends a detection webhook only
// where a rule reports, to the services installed in that organization
// that subscribe to the detection's category. A service that never stored
// its rule gets nothing back — exactly as in production.
//
//	cloud := lctest.New(t)                 // closed when the test ends
//	org := cloud.NewOrg("acme")
//	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
//	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "triage", Secret: secret, Handler: handler})
//	svc.Install(ctx, org)                  // org_install: the service stores its rule
//	svc.Request(ctx, org, params)          // request: the service tasks host
//	cloud.WaitIdle(ctx)                    // answers, rules and detection webhooks done
//	svc.Detections(); svc.Jobs(); org.Tasks(); org.Rules()
//
// Outside a test (a long-running emulator), NewCloud and Close do what New
// does. Service.SetHandler points later webhooks at a fresh instance of
// the service, to test that an investigation survives a restart.
//
// # The REST API
//
// The server speaks LimaCharlie's wire protocol only — the task endpoint
// and the D&R rule APIs — so a client is tested exactly as it will run:
//
//   - POST /v1/{sid}: form tasks (repeatable) and investigation_id;
//     header X-Idempotent-Key makes a repeated call a no-op. 200 {}.
//   - Hive: POST /v1/hive/dr-{ns}/{oid}/{name}/data (form data, usr_mtd),
//     GET /v1/hive/dr-{ns}/{oid}, GET …/{name}/data, DELETE …/{name}.
//   - Legacy: POST, GET (?namespace=) and DELETE (form in the body)
//     /v1/rules/{oid}. Both rule APIs share one store per organization.
//
// Every call needs "Authorization: bearer <jwt>" with an organization's
// JWT: missing or unknown → 401, another organization's {oid} → 403, a
// sensor outside the JWT's organization → 404. Unknown paths answer 404
// and malformed forms 400; error bodies are {"error": "…"}.
//
// Cloud.FailNext is the fault hook: it fails the next calls of a kind
// (CallTask, CallRulePut, …) with a status and headers (a 429 with
// X-RateLimit-Period, a 403, a 503), delays them, or drops their
// connection, to test a client's retries and error handling.
//
// # Sensors
//
// A fake sensor has a hostname, platform, architecture, tags, an online
// flag and a latency before its answers. Every sensor command services
// use (os_packages, os_processes, file_hash, …; see BuiltinCommands) has
// a built-in answer, derived from the hostname and platform so that runs
// repeat exactly. The fake host is coherent: file_hash of a process's
// FILE_PATH is that process's HASH, two processes run from a user's
// download or temporary directory, yara_scan hits exactly those,
// history_dump re-sends their start linked by atoms, and os_kill_process
// removes a process from later answers. Override any command with a
// Responder (SensorConfig.Answers or Sensor.Answer); a Responder returning
// no event simulates a sensor that never answers.
//
// Command lines are parsed as the sensor parses them, and every form the
// documentation writes is accepted: a file path as the only argument, as
// --file_path or as -f; yara_scan's rule positional or as --rule, with
// --pid (-p), --file_path (-f) or -e (--process_expr); dir_list's -d
// (--depth) anywhere; history_dump's -e (--event), -a (--atom) and -r
// (--rootAtom) filters. What the sensor refuses — an unknown command, an
// unknown or repeated flag, a missing or extra argument — is answered
// with a RECEIPT whose ERROR is ERROR_INVALID_FUNCTION (1) or
// ERROR_INVALID_PARAMETER (87).
//
// What tasking an offline sensor returns is not documented, so both
// behaviours are offered: OfflineSilent (200, nothing happens; the
// default) and OfflineError (404 with an error body).
//
// # Rules
//
// The evaluator implements the operators services use in rules: and, or,
// is, starts with, ends with, contains, exists, matches (Go regexp, in
// "re" or "value"), each with "not: true" and "case sensitive: false";
// paths are slash-separated from the event root and "?" matches any
// element of a list. A top-level "event" or "events" limits a rule to
// event types. A rule that cannot be compiled is stored but never
// matches; the record and StoredRule.Err say why. Of the respond actions
// report acts (name → cat, priority, metadata → detect_mtd) and so does
// extension request (see Extensions); the rest are ignored.
//
// A top-level "target" says what a rule runs on: edr (sensor events, the
// default); schedule, the events Cloud.Schedule fires ("12h_per_org" once
// per organization, "1h_per_sensor" once per sensor), as {routing, event}
// with routing/event_type the schedule's name; and detection, each
// detection the organization's rules report, the detection being the
// root. Only extension requests act on the schedule and detection
// targets.
//
// # Webhooks
//
// A webhook's body is a JSON envelope (version 1, oid, a fresh mid,
// deadline now+590 s, the organization's jwt, etype, data), signed in the
// lc-svc-sig header. A response with retry=true is delivered again with
// the same mid, at most DefaultMaxRedeliveries more times unless
// WithMaxRedeliveries says otherwise. A detection's data is the Detection
// itself: detect is the bare event payload and source the reporting
// rule's namespace; WithDetectionShape(NestedDetection) sends the older
// shape instead.
//
// # Replicas
//
// ServiceConfig.Replicas runs a service as several in-process replicas
// behind a load balancer, as services run in production. Each delivery
// attempt (a webhook, its redeliveries after retry=true, an extension's
// message, a detection the rules fan out) goes to one running replica:
// the next in turn with RoundRobin, the default, so that Register's health
// webhook goes to replica 0; or one drawn with Random from a generator
// seeded with ServiceConfig.Seed, so that a run repeats. Exchange.Replica
// and Activity.Replica say which replica got each attempt. Replicas share
// only what their handlers share, such as a tracking store, as separate
// processes do.
//
// Service.StopReplica stops a replica as a process exits: it gets no more
// webhooks, and the call returns once those in flight to it are
// answered. Service.StartReplica starts it again, or replaces it, with a
// new handler. While every replica is stopped, an attempt fails as a
// refused connection would: Exchange.Err is ErrReplicasStopped and
// Exchange.Replica -1. Service.Redeliver sends an exchange's webhook
// again, the same signed body with the same mid (an extension's
// idempotency_key), as the cloud does when a response is lost: with
// RoundRobin it reaches another replica, to test that the service does
// the work once. A service given by Handler or URL is one replica, number
// 0, and SetHandler restarts replica 0.
//
// # Extensions
//
// ServiceConfig.Protocol = Extension speaks LimaCharlie's extension
// protocol to the service instead. Every message carries version
// 20221218 and an idempotency_key, unique per delivery and the same on
// each redelivery, is signed in lc-ext-sig (Sign of the JSON) and sent
// gzip-compressed (Content-Encoding: gzip; ServiceConfig.PlainBody sends
// it as is). Register sends heartbeat and schema_request and keeps the
// schema (Service.Schema); Install sends event subscribe, Uninstall
// unsubscribe, Update update — each only if the schema's required_events
// lists it; Request sends a request with the schema's default action and
// RequestAction names another. Requests and events carry the org access
// data {oid, jwt, ident}; a request's inv_id is empty (whether the
// platform fills it from a rule's event is not documented). An answer of
// HTTP 200 is a success; 500 is
// delivered again (same idempotency_key, as many times as
// WithMaxRedeliveries allows) unless it says retriable: false; 400 is a
// failure not retried. Both come back as a Response, not an error. An
// extension gets no ticks (Tick fails: use Schedule) and no detection
// webhooks: what reaches it comes through rules.
//
// A rule's "extension request" action — {action: "extension request",
// "extension name": N, "extension action": A, "extension request":
// {key: value}} — sends extension N, when it is subscribed in the
// organization, a request with action A and data built from what the rule
// matched (an event's {routing, event}, or the detection). Of the
// transform lctest implements a subset: a value without "{{" is a dotted
// path ("event", "routing.sid", "event.FILE_PATH"; "@this" for the whole
// root) that selects that value as JSON, and leaves the key out when it
// leads nowhere; a value with "{{ .a.b }}" (or "{{ json .a.b }}") is a
// template rendered as a string — a string as is, a number or bool as its
// text, an object as JSON. A request for an extension not subscribed is
// recorded as a rule error.
//
// An answer's continuations, [{in_delay_sec, action, state}], make the
// cloud send a request with that action and data = state after the
// delay, keyed "<parent key>:<level>" (the i-th of one answer, from 0,
// "<parent key>.<i>:<level>" after the first, so that each delivery's key
// is unique). At most 10 levels, 100 per answer and 300 s each: what
// exceeds a limit is not scheduled and is recorded as a rule error
// (What "continuation"). A continuation whose delay is 0 is sent at once
// and WaitIdle waits for it; a later one waits in real time, and WaitIdle
// does not wait for it. Cloud.RunContinuations fires every waiting one
// now, so a test need not wait; PendingContinuations counts them.
//
// Extensions have no jobs; the framework puts them in the answer's
// data.jobs, so lctest reads Response.Jobs from there and Service.Jobs and
// Service.Job merge them as they merge a service's. Every message and
// answer is in the record as a service's webhooks are: What is the kind
// and the action or event name ("request run", "event subscribe"), MID
// the idempotency_key.
//
// # The record
//
// The cloud keeps one record of what happened, in order: every task call,
// sensor event, detection, webhook delivery attempt, response, rule error
// and injected fault, as an Activity (Cloud.Activities). Org.Tasks,
// Sensor.Events, Service.Exchanges, Service.Detections, Service.Jobs and
// Service.Job are views of it, so they never disagree; WithObserver sees
// each entry as it is recorded, for progress displays and debugging.
//
// # Job order
//
// A merged job reads in the order the service narrated it, which is not
// always the order its responses came back. A handler that tasks a sensor
// and then goes on working can see the sensor answer, the detection
// webhook that answer causes and that webhook's response all happen before
// its own response returns; if every entry falls in the same millisecond,
// the timestamps cannot put them back in order.
//
// So every job in a response takes its causal position from the record:
// the position of the delivery attempt the response answers (recorded
// when the attempt is sent), then its place in the response. A webhook
// caused by a task is sent after the task call, and the task call came
// while the handler that made it was running, so after that handler's
// delivery was recorded: the continuation always comes later than the
// delivery that tasked it, however late that delivery's response arrives.
// The cloud needs no guess as to which delivery a task came from; the
// order of sending already respects every such chain.
//
// A job's updates are applied in causal order: a later non-zero start,
// end or cause replaces an earlier one, and sensors join the list once.
// Its history is ordered by ts (epoch milliseconds, as sent); entries of
// the same millisecond keep causal order, and within a response the order
// they were sent in. Service.Jobs lists jobs by the causal position of
// their first update.
//
// The wire shows when a delivery was sent, not when inside its handler an
// entry was narrated. An entry a handler narrates after tasking, in the
// same millisecond as the continuation's entries, reads before them; and
// an update the service holds back to send with a later, unrelated
// response takes that response's position.
//
// # Waiting
//
// Sensor answers arrive asynchronously. WaitIdle blocks until no task,
// event or webhook is in flight, including work caused by the webhooks
// themselves (a service tasking another sensor while handling a
// detection). Close stops everything and leaves no goroutine behind.
//
// # Fidelity
//
// Where lctest differs from the platform, a correct service fails its
// tests or a wrong one passes, so it follows LimaCharlie's public
// documentation: the shapes of the EDR events reference for sensor
// events, the endpoint commands reference for command lines, the output
// stream structures page for detections, the routing reference for an
// event's routing, and the error codes reference for RECEIPT errors.
//
// Each event carries the fields of that event's sample and no field the
// samples lack: OS_VERSION_REP holds BUILD_NUMBER only; DIR_LIST_REP
// holds DIRECTORY_LIST, whose entries carry their creation, modification
// and access times, ATTRIBUTES and, on Windows, STREAMS; OS_PROCESSES_REP
// never holds an ERROR (a process id that names no process is answered
// with a RECEIPT); OS_SERVICES_REP entries carry SVC_TYPE, HASH and, for
// services hosted in a shared process, DLL; OS_AUTORUNS_REP carries a
// TIMESTAMP; FILE_HASH_REP carries a SIGNATURE; and some Windows
// OS_PACKAGES_REP entries lack PACKAGE_VERSION, as registry entries can.
// CLOUD_NOTIFICATION carries NOTIFICATION_ID (the sensor's request name,
// such as ADD_EXFIL_EVENT_REQ for exfil_add), NOTIFICATION holding the
// INVESTIGATION_ID, the sensor's HCP_IDENT and EXPIRY, laid out as the
// events reference's sample lays them out.
//
// Where the documentation contradicts itself, lctest picks one form and
// offers the other:
//
//   - Command answers: the endpoint commands reference shows netstat
//     answering NETWORK_CONNECTIONS with LOCAL_ADDRESS and REMOTE_ADDRESS,
//     os_processes answering one EXISTING_PROCESS per process, packages
//     with NAME, VERSION and PUBLISHER, dir_list entries with
//     LAST_MODIFIED and file_hash with MD5, SHA1 and SHA256; the EDR
//     events reference shows NETSTAT_REP, one OS_PROCESSES_REP,
//     PACKAGE_NAME and PACKAGE_VERSION, entries with their times, and a
//     SIGNATURE. Sensors answer as the events reference shows by default
//     (EventsReference); SensorConfig.Dialect = CommandsReference answers
//     as the commands reference shows.
//   - Detections: the stream structures page puts the bare event in
//     detect; the reference Python framework reads detect.routing, an
//     older shape where detect held {event, routing}. The documented shape
//     is sent by default (DocumentedDetection); NestedDetection sends the
//     other.
//   - Timestamps: OS_AUTORUNS_REP's sample gives TIMESTAMP in epoch
//     seconds where other events give milliseconds; lctest follows the
//     sample of each event.
//
// lctest does not emulate: adapters and events other than the answers to
// tasks and Sensor.Emit; the respond actions other than report (no
// isolation, tagging or tasking by rules), suppression, stateful rules,
// and the Hive's expiry; detect_data and mtd in detections; sensors
// dropping the events history_dump sent, and the original times of those
// events (they carry the time they are re-sent); real YARA matching
// (every rule hits the suspicious processes); rate limits, except as
// faults a test injects; and what tasking an offline sensor returns,
// which is undocumented (see OfflineMode).
//
// The package imports no package of this module outside lctest: it
// speaks only the wire, so it is tested against the framework, not built
// from it. Responses and the jobs they carry are decoded into its own
// types (Response, Job).
package lctest
