// Package extension serves a service written with this framework as a
// LimaCharlie extension, from the same handlers.
//
// LimaCharlie delivers an extension's webhooks in its own protocol: signed
// with the lc-ext-sig header over the decompressed body, one message per
// POST (heartbeat, schema_request, request, event, conf_validation,
// error_report), answered with an HTTP status that carries meaning. A
// Transport adapts each message to a service.Request of the matching event
// type and hands it to service.Dispatch, so request-parameter validation,
// commands, middleware and the user's handlers run unchanged. Choose the
// protocol when building the service:
//
//	svc, err := service.New("my-service", secret, extension.Serve())
//
// or, for a program that reads its protocol from its configuration,
//
//	proto, err := extension.Select(os.Getenv("LC_PROTOCOL"))
//	svc, err := service.New("my-service", secret, proto)
//
// and serve it as before (ListenAndServe, or mount it as an http.Handler).
// An interactive service takes the option through
// interactive.WithServiceOptions and adapts its task → answer loop itself.
//
// # What maps to what
//
//	service model                     extension
//	request + SetRequestParams        action "request" (WithRequestAction), the default action; its
//	                                  parameters from the params: str→string, int→integer, bool→bool,
//	                                  enum→enum + enum_values, sid→sid, uuid→string, float→string
//	                                  (no float type: the text is parsed as a number, and the
//	                                  description says so); required → requirements [[name]];
//	                                  desc→description; index→display_index
//	commands (AddCommand)             one action per command, parameters from its arguments
//	org_install / org_uninstall       event subscribe / unsubscribe
//	org_per_* / sensor_per_* ticks    a D&R rule on the schedule target (1h, 3h, 12h, 24h, 168h per
//	                                  org or per sensor), stored on subscribe and update, deleted on
//	                                  unsubscribe, calling back __lcsvc_tick_<etype> (a sensor tick's
//	                                  data carries the sid)
//	detection subscriptions           a D&R rule on the detection target per detection name, calling
//	                                  back __lcsvc_detection with the detection's fields
//	health                            heartbeat (answered 200 {}) and schema_request (the schema;
//	                                  required_events subscribe, unsubscribe, update)
//	service_error                     error_report (always acknowledged)
//	Response OK / Fail / Retry        200 / 400, retriable false / 500, retriable true
//	jobs                              no counterpart: their JSON goes into data.jobs, and each
//	                                  update is logged
//	the envelope deadline             none: every handler's context ends after WithDeadline
//	                                  (default 590 s)
//
// No counterpart, never delivered (a warning at start lists those the
// service handles): once_per_* ticks, org_per_30d and sensor_per_30d,
// get_resource, deployment_event, log_event, new_sensor. The extension has
// no configuration of its own: its config schema is empty and every
// conf_validation succeeds.
//
// A success that carries an error (the rule lifecycle adds its failures to
// the user's response this way) is answered 500, retriable, so the platform
// delivers the message again; when the REST API refused a call for good (a
// 4xx other than 401, 408 or 429, such as a missing permission), 400.
//
// # The webhook
//
// Extension webhooks go through the service's front door, as the service
// protocol's do, under the same limits (see the service package's
// "Limits"):
//
//   - A POST without lc-ext-sig is answered 200 {} without reading it.
//   - The body is read up to service.WithMaxBodyBytes (default 32 MiB) and,
//     when gzip-compressed (Content-Encoding: gzip, or the gzip magic
//     number), inflated as it arrives, the inflated bytes bounded by the
//     same limit and counted against the budget of unauthenticated bytes:
//     past the limit it is answered 413 at once, the rest unread.
//   - The signature is verified over the decompressed bytes; a mismatch is
//     answered 401, counted (service.Stats) and logged at most once every
//     10 s. A service built with service.WithInsecureNoSecret verifies
//     nothing.
//   - The message is decoded strictly: field names exactly as the protocol
//     spells them (one differing only in case is refused), none twice.
//   - A delivery repeated with the same idempotency_key is handled once: the
//     repeat gets the recorded answer (a retriable failure is not recorded,
//     so the platform's retry is handled afresh). The default store is in
//     process memory, an LRU with a TTL (MemoryIdempotency);
//     WithIdempotencyStore replaces it, e.g. with one shared by replicas
//     (tracking.RedisIdempotency).
//   - An unknown action or event is answered 400.
//
// # Continuations
//
// A handler may ask the platform to deliver an action again later
// (Continue): the platform keeps that timer, so it fires even if the
// process that set it is gone. The platform allows 300 s per step, 10
// steps per chain and 100 per response. The interactive package uses it to
// fire a task's timeout after a restart.
//
// # Layers
//
// Layers built on a service adapt to the extension protocol through Of: the
// interactive package registers internal actions (HandleAction), runs on
// update (OnUpdate), and hands over its REST client (UseClient). Internal
// action names start with InternalPrefix ("__lcsvc_"); commands may not.
//
// # Registering the extension
//
// In LimaCharlie, define the extension with the service's URL as its
// destination, the shared secret, and the permissions it needs:
// dr.set.managed and dr.del.managed for the rules the transport stores
// (ticks, detections), plus sensor.task for an interactive service.
package extension
