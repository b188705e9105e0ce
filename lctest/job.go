package lctest

import (
	"cmp"
	"encoding/json"
	"slices"
)

// Job is a job as a service's response carries it, new or update, or as
// the cloud merged it across responses (Service.Job). Times are epoch
// milliseconds; zero means absent.
type Job struct {
	ID      string     `json:"id"`
	Start   int64      `json:"start,omitempty"`
	End     int64      `json:"end,omitempty"`
	Cause   string     `json:"cause,omitempty"`
	Sensors []string   `json:"sid,omitempty"`
	Hist    []JobEntry `json:"hist,omitempty"`
}

// JobEntry is one entry of a job's history. Attachments are kept as sent;
// their att_type field tells them apart.
type JobEntry struct {
	TS          int64             `json:"ts"`
	Msg         string            `json:"msg"`
	Attachments []json.RawMessage `json:"attachments,omitempty"`
	Important   bool              `json:"is_important"`
}

// jobUpdate is one job of one response, with its causal position: the
// position in the cloud's record of the delivery attempt the response
// answered, then the job's index in the response.
type jobUpdate struct {
	sent int
	pos  int
	job  Job
}

// compare orders updates by causal position.
func (u jobUpdate) compare(v jobUpdate) int {
	return cmp.Or(cmp.Compare(u.sent, v.sent), cmp.Compare(u.pos, v.pos))
}

// merge folds a job's updates, given in causal order, into a fresh job:
// each non-zero start, end and cause replaces the one before, sensors
// join those not already listed, and the history is ordered by ts with
// entries of the same millisecond kept in causal order.
func merge(updates []jobUpdate) Job {
	j := Job{ID: updates[0].job.ID}
	for _, u := range updates {
		if u.job.Start != 0 {
			j.Start = u.job.Start
		}
		if u.job.End != 0 {
			j.End = u.job.End
		}
		if u.job.Cause != "" {
			j.Cause = u.job.Cause
		}
		for _, sid := range u.job.Sensors {
			if !slices.Contains(j.Sensors, sid) {
				j.Sensors = append(j.Sensors, sid)
			}
		}
		j.Hist = append(j.Hist, u.job.Hist...)
	}
	slices.SortStableFunc(j.Hist, func(a, b JobEntry) int { return cmp.Compare(a.TS, b.TS) })
	return j
}
