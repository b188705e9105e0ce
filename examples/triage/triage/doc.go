// Package triage is the service behind examples/triage: a multi-step
// investigation a security engineer would write. A detection whose category
// is one of Options.Detections opens a job and tasks os_processes on the
// sensor; the processes running from outside the platform's system
// directories (see IsSystemPath) are then hashed one at a time with
// file_hash, each answer narrated into the job as it arrives, and the job
// ends with a table of every file: path, pid, sha256 and signer.
//
// Every step is a named handler (interactive.Via) and carries what it needs
// in the signed correlation token: the remaining queue of [pid, path], the
// file count n and the index i. So the investigation survives a restart or
// a move to another replica. The token's state is limited to
// interactive.MaxStateLen bytes: a queue too long for it is cut, and the files
// left out are narrated.
//
// Where the final table's rows come from: the rows collected so far ride in
// the token while they fit next to the queue. Once they do not, they move to
// an in-process cache keyed by job id (dropped when the job closes), and
// later rows go there too. If the cache lacks rows because the process
// restarted after that move, the final entry says so and points at the
// per-file entries, which always hold every row.
//
// A sensor that stops answering is noticed by each task's TTL: the timeout
// narrates the rows collected so far and closes the job; the interactive
// layer sends that update with the next response to the organization.
package triage
