// Package interactive builds LimaCharlie services that task sensors and act
// on what the sensors answer.
//
// An interactive Service wraps a *service.Service. It installs a "replicant"
// D&R rule in every organization that installs the service (and again every
// hour, so a deleted rule heals itself), which reports every sensor event
// whose investigation_id starts with svc-<name>-ex/ back to the service as a
// detection. Task sends a sensor command tagged with a signed correlation
// token in that investigation_id; when the answer comes back the token is
// verified and the answer is routed:
//
//  1. to the closure given with Then, if this process still holds it;
//  2. else to the named handler given with Via (registered with Handle at
//     start-up) — this path needs no memory of the task, so it works after a
//     restart and on another replica;
//  3. else to the orphan handler (default: log and answer success).
//
// A token whose tag does not verify, or that has expired, never reaches user
// code: it is logged and counted in Stats.
//
// Timeouts are kept by the process that sent the task. When replies can
// land on another replica, that replica answers through the named handler
// while the sender's timeout still fires at the TTL: give such tasks a TTL
// comfortably longer than the command takes, and write timeout handlers
// that tolerate a job another replica has already closed. (A tracking table
// shared between replicas would remove this; it is not built yet.)
//
// Jobs: a task may carry a job (WithJob). Its continuation gets the job
// reopened by id; whatever the continuation narrates is sent in the
// detection's response. A timeout handler has no response of its own to
// ride: its job updates are queued and sent with the next response to that
// organization (any event, such as the hourly tick that also re-installs the
// rule).
package interactive
