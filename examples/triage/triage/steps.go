package triage

import (
	"context"
	"fmt"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// process is what the triage reads of an OS_PROCESSES_REP entry.
type process struct {
	PID  int64  `json:"PROCESS_ID"`
	Path string `json:"FILE_PATH"`
}

// processesListed selects the processes running from outside the system
// directories and starts hashing them.
func (t *triager) processesListed(ctx context.Context, r *interactive.Reply) service.Response {
	if r.Job == nil {
		return service.OK(nil) // not a task of ours: every triage task carries its job
	}
	if r.Err != nil {
		r.Job.Narrate(fmt.Sprintf("%s could not list its processes: %v", r.Hostname, r.Err), true)
		t.close(r.Job)
		return service.OK(nil)
	}
	if r.EventType == "RECEIPT" {
		return service.OK(nil) // an acknowledgement; the list follows
	}
	var rep struct {
		Processes []process `json:"PROCESSES"`
	}
	if err := r.Decode(&rep); err != nil {
		r.Job.Narrate("unreadable process list: "+err.Error(), true)
		t.close(r.Job)
		return service.OK(nil)
	}
	selected, skipped := selectTargets(r.Platform, rep.Processes)
	msg := fmt.Sprintf("%d of %d processes on %s run from outside the system directories", len(selected), len(rep.Processes), r.Hostname)
	if skipped > 0 {
		msg += fmt.Sprintf(" (%d without an absolute image path were skipped)", skipped)
	}
	r.Job.Narrate(msg, false, targetTable("processes outside the system directories", selected))
	if len(selected) == 0 {
		r.Job.Narrate("nothing to hash; triage finished", false)
		t.close(r.Job)
		return service.OK(nil)
	}
	first, left := planQueue(selected)
	if len(left) > 0 {
		narrateCut(r.Job, first.N, left)
	}
	if first.N == 0 {
		r.Job.Narrate("no file could be hashed; triage finished", true)
		t.close(r.Job)
		return service.OK(nil)
	}
	if err := t.taskHash(ctx, r.Org, r.SID, r.Job, first); err != nil {
		t.stopped(r.Job, first, fmt.Sprintf("could not task file_hash: %v", err))
	}
	return service.OK(nil)
}

// selectTargets returns the processes whose image lies outside p's system
// directories, in the sensor's order, and how many had no usable path.
func selectTargets(p interactive.Platform, procs []process) (selected []target, skipped int) {
	for _, pr := range procs {
		switch {
		case !isAbsolute(p, pr.Path):
			skipped++
		case !IsSystemPath(p, pr.Path):
			selected = append(selected, target{PID: pr.PID, Path: pr.Path})
		}
	}
	return selected, skipped
}

// narrateCut tells which processes will not be hashed, and why.
func narrateCut(job *jobs.Job, kept int, left []target) {
	job.Narrate(fmt.Sprintf("hashing the first %d of %d files; %d left out: the investigation's state travels in its %d-byte signed token, which has no room for more paths",
		kept, kept+len(left), len(left), interactive.MaxStateLen), true, targetTable("processes left out", left))
}

// taskHash asks the sensor for the hash of the file at the head of st's queue.
func (t *triager) taskHash(ctx context.Context, org tasking.Org, sid string, job *jobs.Job, st state) error {
	_, err := t.is.Task(ctx, org, sid, interactive.CommandLine("file_hash", st.Queue[0].Path),
		interactive.Via(handlerHash),
		interactive.WithJob(job),
		interactive.WithState(st),
		interactive.TTL(t.ttl),
		interactive.OnTimeout(t.hashTimedOut),
	)
	return err
}

// fileHashed narrates one file's row, then hashes the next file or ends
// the triage.
func (t *triager) fileHashed(ctx context.Context, r *interactive.Reply) service.Response {
	if r.Job == nil {
		return service.OK(nil)
	}
	if r.EventType == "RECEIPT" && r.Err == nil {
		return service.OK(nil) // an acknowledgement; the hash follows
	}
	var st state
	if err := r.State(&st); err != nil || len(st.Queue) == 0 {
		r.Job.Narrate("a file_hash answer came back without the investigation's state; the triage cannot go on", true)
		t.close(r.Job)
		return service.OK(nil)
	}
	rw := hashRow(st.Queue[0], r)
	caption := fmt.Sprintf("file %d of %d", st.I, st.N)
	r.Job.Narrate(caption+": "+rw.summary(), false, rowTable(caption, []row{rw}))
	next := t.record(r.Job.ID(), st, rw)
	if len(next.Queue) == 0 {
		t.finish(r.Job, r.Hostname, next)
		return service.OK(nil)
	}
	if err := t.taskHash(ctx, r.Org, r.SID, r.Job, next); err != nil {
		t.stopped(r.Job, next, fmt.Sprintf("could not task file_hash of %s: %v", next.Queue[0].Path, err))
	}
	return service.OK(nil)
}

// record returns the state after st's file, holding rw: in the token while
// the rows fit there, else (from then on) in this process's cache.
func (t *triager) record(jobID string, st state, rw row) state {
	next := state{Queue: st.Queue[1:], N: st.N, I: st.I + 1, Spilled: st.Spilled}
	if st.Spilled {
		t.cache.put(jobID, st.I, rw)
		return next
	}
	next.Rows = append(append([]row(nil), st.Rows...), rw)
	if len(next.Queue) == 0 || next.fits() {
		return next
	}
	for i, x := range next.Rows {
		t.cache.put(jobID, i+1, x)
	}
	next.Rows, next.Spilled = nil, true
	return next
}

// collected returns the rows of the files before st's, as far as this
// process has them.
func (t *triager) collected(jobID string, st state) []row {
	if st.Spilled {
		return t.cache.rows(jobID)
	}
	return st.Rows
}

// finish narrates the final table and closes the job.
func (t *triager) finish(job *jobs.Job, host string, st state) {
	rows := t.collected(job.ID(), st)
	if len(rows) < st.N {
		job.Narrate(fmt.Sprintf("triage of %s finished, but this process holds only %d of the %d rows: the service restarted while the files were being hashed; the per-file entries above hold every row",
			host, len(rows), st.N), true, rowTable(fmt.Sprintf("%d of %d files", len(rows), st.N), rows))
		t.close(job)
		return
	}
	count := map[signer]int{}
	for _, rw := range rows {
		count[rw.Signer]++
	}
	job.Narrate(fmt.Sprintf("triage of %s finished: %d of %d files hashed (%d signed, %d unsigned); %d could not be hashed",
		host, len(rows)-count[notHashed], len(rows), count[signerSigned], count[signerUnsigned], count[notHashed]), true,
		rowTable(fmt.Sprintf("all %d files", len(rows)), rows))
	t.close(job)
}

// stopped ends a triage that cannot go on with what st says was collected.
func (t *triager) stopped(job *jobs.Job, st state, reason string) {
	rows := t.collected(job.ID(), st)
	msg := fmt.Sprintf("%s; %d of %d files were hashed before that", reason, len(rows), st.N)
	job.Narrate(msg, true, rowTable("files hashed so far", rows))
	t.close(job)
}

// processesTimedOut ends a triage whose sensor never listed its processes.
func (t *triager) processesTimedOut(_ context.Context, tm *interactive.Timeout) {
	if tm.Job == nil {
		return
	}
	tm.Job.Narrate(fmt.Sprintf("sensor %s did not answer os_processes within %s; triage abandoned", tm.SID, t.ttl), true)
	t.close(tm.Job)
}

// hashTimedOut ends a triage whose sensor stopped answering mid-way. It runs
// in the process that sent the unanswered task.
func (t *triager) hashTimedOut(_ context.Context, tm *interactive.Timeout) {
	if tm.Job == nil {
		return
	}
	var st state
	if err := tm.State(&st); err != nil || len(st.Queue) == 0 {
		tm.Job.Narrate(fmt.Sprintf("sensor %s stopped answering file_hash within %s; triage abandoned", tm.SID, t.ttl), true)
		t.close(tm.Job)
		return
	}
	t.stopped(tm.Job, st, fmt.Sprintf("sensor %s stopped answering: file_hash of %s (file %d of %d) got no answer within %s",
		tm.SID, st.Queue[0].Path, st.I, st.N, t.ttl))
}

// close closes the job and drops its cached rows.
func (t *triager) close(job *jobs.Job) {
	job.Close()
	t.cache.forget(job.ID())
}
