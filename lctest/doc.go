// Package lctest is an emulated LimaCharlie cloud for testing services,
// in the spirit of net/http/httptest: "unit test via fake sensor
// responder".
//
// A test starts a Cloud, creates organizations and fake sensors, points
// the service's API base URL at Cloud.URL, registers the service (an
// in-process http.Handler or a URL) and delivers signed webhooks to it.
// When the service tasks a sensor through the REST API, the sensor
// answers: a CLOUD_NOTIFICATION receipt, then its reply events, each
// carrying the task's investigation_id. The cloud runs every event through
// the organization's stored D&R rules and sends a detection webhook only
// where a rule reports, to the services installed in that organization
// that subscribe to the detection's category. A service that never stored
// its rule gets nothing back — exactly as in production.
//
//	cloud := lctest.NewCloud()
//	defer cloud.Close()
//	org := cloud.NewOrg("acme")
//	host := org.AddSensor(lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux})
//	svc, err := cloud.Register(ctx, lctest.ServiceConfig{Name: "triage", Secret: secret, Handler: handler})
//	svc.Install(ctx, org)                 // org_install: the service stores its rule
//	svc.Request(ctx, org, params)          // request: the service tasks host
//	cloud.WaitIdle(ctx)                    // answers, rules and detection webhooks done
//	svc.Detections(); svc.Jobs(); org.Tasks(); org.Rules()
//
// Service.SetHandler points later webhooks at a fresh instance of the
// service, to test that an investigation survives a restart.
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
// FailNextTasks injects failures (429, 5xx) to test a client's retries.
//
// # Sensors
//
// A fake sensor has a hostname, platform, architecture, tags, an online
// flag and a latency before its answers. Every sensor command services
// use (os_packages, os_processes, file_hash, …) has a built-in answer
// with LimaCharlie's field names, derived from the hostname and platform
// so that runs repeat exactly; see BuiltinAnswer.
// The fake host is coherent: file_hash of a process's FILE_PATH is that
// process's HASH, two processes run from a user's download or temporary
// directory, yara_scan hits exactly those, and os_kill_process removes a
// process from later os_processes answers. Override any command with a
// Responder (SensorConfig.Answers or Sensor.Answer); a Responder returning
// no event simulates a sensor that never answers. Unknown commands and
// unusable arguments answer a RECEIPT with a non-zero ERROR.
//
// What tasking an offline sensor returns is not documented, so both
// behaviours are offered: OfflineSilent (200, nothing happens; the
// default) and OfflineError (404 with an error body).
//
// # Rules
//
// The evaluator implements the operators services use in rules: and, or, is,
// starts with, ends with, contains, exists, matches (Go regexp, in "re"
// or "value"), each with "not: true" and "case sensitive: false"; paths
// are slash-separated from the event root and "?" matches any element of
// a list. A top-level "event" or "events" limits a rule to event types.
// A rule that cannot be compiled is stored but never matches; the
// observer and StoredRule.Err say why. Of the respond actions only report
// acts (name → cat, priority, metadata → detect_mtd); the rest are ignored.
//
// # Webhooks
//
// A webhook's body is a JSON envelope (version 1, oid, a fresh mid,
// deadline now+590 s, the organization's jwt, etype, data), signed in the
// lc-svc-sig header. A response with retry=true is delivered again with
// the same mid, at most DefaultMaxRedeliveries more times unless
// WithMaxRedeliveries says otherwise. Every attempt is kept
// (Service.Exchanges), jobs are merged by ID across responses
// (Service.Job, Service.Jobs) and the detections sent are kept decoded
// (Service.Detections).
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
// So the cloud numbers every delivery attempt, in the order it sends them,
// and gives each job in a response the number of the attempt it answers
// (then its place in the response): its causal position. A webhook caused
// by a task is sent after the task call, and the task call came while the
// handler that made it was running, so after that handler's delivery was
// sent: the continuation always carries a higher number than the
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
// # Waiting and observing
//
// Sensor answers arrive asynchronously. WaitIdle blocks until no task,
// event or webhook is in flight, including work caused by the webhooks
// themselves (a service tasking another sensor while handling a
// detection). WithObserver reports every task, event, detection, webhook
// and response as it happens, for progress displays and debugging. Close
// stops everything and leaves no goroutine behind.
//
// The package imports no package of this module: it speaks only the wire,
// so it is tested against the framework, not built from it. Responses and
// the jobs they carry are decoded into its own types (Response, Job).
package lctest
