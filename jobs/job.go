package jobs

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Job is a job a service reports to LimaCharlie in its webhook responses: a
// cause, the sensors it concerns and a history of entries the user reads.
// Create one with New or Reopen; the zero value is not usable until
// UnmarshalJSON fills it. A Job is safe for concurrent use.
//
// A Job can be kept outside the process and sent later, by another
// replica even: it marshals to its JSON, and UnmarshalJSON reads that back
// into a Job that marshals to the same JSON, attachments included (they
// come back as they were rendered). A service queues a job update in Redis
// this way and attaches it to a later response:
//
//	b, err := json.Marshal(job) // keep b, in Redis say
//	...
//	var later jobs.Job
//	if err := json.Unmarshal(b, &later); err != nil {
//		return service.Retry(err)
//	}
//	return service.OK(nil).WithJobs(&later)
type Job struct {
	id    string
	isNew bool
	// now is the time source, time.Now outside tests; tests in the package
	// replace it so golden files are reproducible.
	now func() time.Time

	mu      sync.Mutex
	start   time.Time
	end     time.Time
	closed  bool
	cause   string
	sensors []string
	hist    []Entry
}

// New starts a new job with a random UUID as its ID and the current time as
// its start. Give it a cause with SetCause before sending it.
func New() *Job {
	return newJob(uuid.NewString(), true, time.Now)
}

// Reopen refers to an existing job by its ID, to send an update to it: new
// entries, a closing time. An update has no start and needs no cause.
func Reopen(id string) *Job {
	return newJob(id, false, time.Now)
}

// newJob is the constructor behind New and Reopen, with the ID and clock
// passed in so tests can fix both.
func newJob(id string, isNew bool, now func() time.Time) *Job {
	j := &Job{id: id, isNew: isNew, now: now}
	if isNew {
		j.start = now()
	}
	return j
}

// ID returns the job's ID.
func (j *Job) ID() string { return j.id }

// IsNew reports whether j was started by New rather than reopened by Reopen.
func (j *Job) IsNew() bool { return j.isNew }

// SetCause sets the reason the job exists, shown to the user. New jobs
// require one; on a reopened job it is sent with the update.
func (j *Job) SetCause(cause string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cause = cause
}

// Cause returns the cause set with SetCause, or "".
func (j *Job) Cause() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cause
}

// AddSensor relates the job to a sensor. Sensors are kept in the order first
// added; repeats and the empty string are ignored.
func (j *Job) AddSensor(sid string) {
	if sid == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if !slices.Contains(j.sensors, sid) {
		j.sensors = append(j.sensors, sid)
	}
}

// Sensors returns a copy of the sensor IDs added so far.
func (j *Job) Sensors() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.sensors)
}

// Narrate appends an entry to the job's history, timestamped now. important
// highlights the entry for the user. Nil attachments are skipped.
func (j *Job) Narrate(msg string, important bool, atts ...Attachment) {
	kept := make([]Attachment, 0, len(atts))
	for _, a := range atts {
		if !isNilAttachment(a) {
			kept = append(kept, a)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	// The clock is read under the lock so times follow history order.
	j.hist = append(j.hist, Entry{Time: j.now(), Message: msg, Attachments: kept, Important: important})
}

// Entries returns a copy of the history so far, oldest first.
func (j *Job) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, len(j.hist))
	for i, e := range j.hist {
		e.Attachments = slices.Clone(e.Attachments)
		out[i] = e
	}
	return out
}

// Close marks the job finished at the current time. Closing again keeps the
// first time.
func (j *Job) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed {
		j.closed = true
		j.end = j.now()
	}
}

// IsClosed reports whether Close has been called.
func (j *Job) IsClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Start returns when a new job started; it is the zero time for a reopened job.
func (j *Job) Start() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.start
}

// End returns when the job was closed, or the zero time if it is open.
func (j *Job) End() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.end
}

// Validate reports why j cannot be sent: a reopened job without an ID, or a
// new job without a cause.
func (j *Job) Validate() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.validateLocked()
}

func (j *Job) validateLocked() error {
	if strings.TrimSpace(j.id) == "" {
		return ErrNoID
	}
	if j.isNew && strings.TrimSpace(j.cause) == "" {
		return &NoCauseError{ID: j.id}
	}
	return nil
}
