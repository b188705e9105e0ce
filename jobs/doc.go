// Package jobs builds the jobs a LimaCharlie service returns in its webhook
// responses: the job log a user reads in LimaCharlie, made of timestamped
// entries with optional attachments (hex dumps, tables, YAML, JSON).
//
// A job is either new or an update. New starts a job with a fresh UUID and a
// start time; it must be given a cause before it is sent. Reopen refers to a
// job sent earlier, by its ID, and carries only what changed since: the
// entries narrated on this value, a closing time, and a cause or sensors if
// they were set on it.
//
//	job := jobs.New()
//	job.SetCause("suspicious process on web-1")
//	job.AddSensor(sid)
//	job.Narrate("process tree collected", false, table)
//	job.Close()
//	return service.OK(nil).WithJobs(job)
//
// # Wire format
//
// A *Job marshals to the job JSON of the LimaCharlie service protocol.
// Timestamps are epoch milliseconds taken with time.Time.UnixMilli. A new job
// always carries id, start, cause, sid and hist, with sid and hist as lists
// even when empty, so that the cloud always sees the whole record; end is
// added once the job is closed. An update carries id and only the non-empty
// fields among cause, sid, hist and end. Marshalling validates the job first
// (see Job.Validate), so a new job without a cause fails to marshal rather
// than reaching the cloud half-formed.
//
// A Job value carries every entry narrated on it each time it is marshalled:
// attach it to one response, and Reopen it by ID to add to it in a later one.
//
// # Concurrency
//
// All methods of Job and Table are safe for concurrent use. The history keeps
// the order in which Narrate calls took effect, and each entry's time is read
// in that same order, so timestamps never run backwards along the history
// (for a clock that does not). A Table is marshalled with the rows it holds at
// that moment, so rows added after Narrate still appear.
//
// # Decoding
//
// Wire and WireEntry decode the job JSON as it travels in a response, new or
// update, and Wire.Merge folds updates into the job they belong to. Tools and
// the emulated cloud use them to read back what a service sent.
//
// Job.UnmarshalJSON reads that JSON back into a Job, for a service that
// keeps a job (an update waiting for a later response, say) outside its
// process: the decoded Job marshals to the JSON it was read from, and new
// entries can be narrated on it.
package jobs
