// Package dr is the emulated cloud's detection & response engine: it
// compiles D&R rules, keeps an organization's rules, and runs events
// through them.
//
// The evaluator implements the operators services use: and, or, is,
// starts with, ends with, contains, exists and matches (Go regexp, in "re"
// or "value"), each with "not: true" and "case sensitive: false". Paths
// are slash-separated from the event root ("routing/event_type",
// "event/FILE_PATH"); "?" matches any element of a list and a number
// indexes one. A top-level "event" or "events" limits a rule to those
// event types. A top-level "target" chooses what a rule runs on: edr
// (sensor events, the default), schedule (schedule events such as
// 12h_per_org, as {routing, event}) or detection (the detections the
// organization's rules report). Of the respond actions report and
// extension request act; see compileExtRequest for the transform subset.
package dr
