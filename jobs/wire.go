package jobs

import (
	"cmp"
	"encoding/json"
	"slices"
)

// Wire is the decoded JSON of a job, new or update, as it travels in a
// response. Times are epoch milliseconds; zero means absent.
type Wire struct {
	ID      string      `json:"id"`
	Start   int64       `json:"start,omitempty"`
	End     int64       `json:"end,omitempty"`
	Cause   string      `json:"cause,omitempty"`
	Sensors []string    `json:"sid,omitempty"`
	Hist    []WireEntry `json:"hist,omitempty"`
}

// WireEntry is the decoded JSON of one history entry. Attachments are kept
// raw; their att_type field tells them apart.
type WireEntry struct {
	TS          int64             `json:"ts"`
	Msg         string            `json:"msg"`
	Attachments []json.RawMessage `json:"attachments,omitempty"`
	Important   bool              `json:"is_important"`
}

// Merge applies update to w, the job accumulated so far: update's entries
// join the history, which stays in time order (updates may arrive out of
// order: a sensor's answer can be reported before the response that created
// the job; entries with equal times keep arrival order), its sensors added to those not already listed,
// and its non-zero start, end and cause replace w's. If w has no ID yet it
// takes update's. Merge does not compare IDs: the caller keys jobs by ID.
func (w *Wire) Merge(update Wire) {
	if w.ID == "" {
		w.ID = update.ID
	}
	if update.Start != 0 {
		w.Start = update.Start
	}
	if update.End != 0 {
		w.End = update.End
	}
	if update.Cause != "" {
		w.Cause = update.Cause
	}
	for _, sid := range update.Sensors {
		if !slices.Contains(w.Sensors, sid) {
			w.Sensors = append(w.Sensors, sid)
		}
	}
	w.Hist = append(w.Hist, update.Hist...)
	slices.SortStableFunc(w.Hist, func(a, b WireEntry) int { return cmp.Compare(a.TS, b.TS) })
}
