package lctest

import "net"

// Option configures a Cloud at creation.
type Option func(*Cloud)

// OfflineMode is how the cloud answers a task sent to an offline sensor.
// LimaCharlie does not document it, so both behaviours
// are available and a client must cope with either.
type OfflineMode int

const (
	// OfflineSilent accepts the task (HTTP 200) and the sensor never
	// answers: the task is recorded, no event is emitted. The default.
	OfflineSilent OfflineMode = iota
	// OfflineError refuses the task with HTTP 404 and a JSON error body
	// saying the sensor is offline; the task is not recorded.
	OfflineError
)

// String names the mode.
func (m OfflineMode) String() string {
	switch m {
	case OfflineSilent:
		return "silent"
	case OfflineError:
		return "error"
	}
	return "OfflineMode(?)"
}

// DefaultMaxRedeliveries is how many times a webhook answered with
// retry=true is sent again unless WithMaxRedeliveries says otherwise.
const DefaultMaxRedeliveries = 3

// WithObserver has the cloud call fn for every Activity as it is
// recorded: tasks, sensor events, detections, webhooks and their
// responses, invalid rules, faults. Calls are serialised in the order of
// the record, so fn need not be safe for concurrent use; it may read the
// record, but it must return promptly and must not call WaitIdle,
// Close, Service.SetHandler, Service.StopReplica or Service.StartReplica,
// which wait for the work that is calling it.
func WithObserver(fn func(Activity)) Option {
	return func(c *Cloud) { c.observer = fn }
}

// WithOfflineTasking sets how a task for an offline sensor is answered.
func WithOfflineTasking(m OfflineMode) Option {
	return func(c *Cloud) { c.offline = m }
}

// WithMaxRedeliveries bounds how many times a webhook answered with
// retry=true is delivered again (same mid), after the first attempt.
// n < 0 is taken as 0: never redeliver.
func WithMaxRedeliveries(n int) Option {
	return func(c *Cloud) { c.maxRedeliveries = max(n, 0) }
}

// WithListener serves the REST API on ln instead of a fresh loopback port,
// e.g. a listener on a fixed address for a long-running emulator. The
// cloud closes ln when it closes.
func WithListener(ln net.Listener) Option {
	return func(c *Cloud) { c.listener = ln }
}

// WithDetectionShape sets the shape of the detection webhooks the cloud
// sends; DocumentedDetection by default.
func WithDetectionShape(s DetectionShape) Option {
	return func(c *Cloud) { c.detectionShape = s }
}
