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
// event types. Of the respond actions only report acts.
package dr
