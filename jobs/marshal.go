package jobs

import (
	"encoding/json"
	"fmt"
)

// newJobJSON is the wire shape of a new job: every field present, lists
// never null.
type newJobJSON struct {
	ID      string            `json:"id"`
	Start   int64             `json:"start"`
	Cause   string            `json:"cause"`
	Sensors []string          `json:"sid"`
	Hist    []json.RawMessage `json:"hist"`
	End     *int64            `json:"end,omitempty"`
}

// updateJSON is the wire shape of an update to an existing job: the ID plus
// whatever changed.
type updateJSON struct {
	ID      string            `json:"id"`
	Cause   string            `json:"cause,omitempty"`
	Sensors []string          `json:"sid,omitempty"`
	Hist    []json.RawMessage `json:"hist,omitempty"`
	End     *int64            `json:"end,omitempty"`
}

// entryJSON is the wire shape of a history entry.
type entryJSON struct {
	TS          int64             `json:"ts"`
	Msg         string            `json:"msg"`
	Attachments []json.RawMessage `json:"attachments"`
	Important   bool              `json:"is_important"`
}

// MarshalJSON renders j as the job JSON of the service protocol, a new job or
// an update (see the package documentation). It fails if Validate does, or if
// an attachment cannot be rendered.
func (j *Job) MarshalJSON() ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.validateLocked(); err != nil {
		return nil, err
	}
	hist := make([]json.RawMessage, len(j.hist))
	for i, e := range j.hist {
		b, err := e.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("jobs: job %s entry %d (%q): %w", j.id, i, e.Message, err)
		}
		hist[i] = b
	}
	var end *int64
	if j.closed {
		ms := j.end.UnixMilli()
		end = &ms
	}
	if j.isNew {
		sensors := j.sensors
		if sensors == nil {
			sensors = []string{}
		}
		return json.Marshal(newJobJSON{ID: j.id, Start: j.start.UnixMilli(), Cause: j.cause, Sensors: sensors, Hist: hist, End: end})
	}
	return json.Marshal(updateJSON{ID: j.id, Cause: j.cause, Sensors: j.sensors, Hist: hist, End: end})
}

// MarshalJSON renders e as a history entry: ts (epoch ms), msg, attachments
// (always a list) and is_important.
func (e Entry) MarshalJSON() ([]byte, error) {
	atts := make([]json.RawMessage, len(e.Attachments))
	for i, a := range e.Attachments {
		if isNilAttachment(a) {
			return nil, fmt.Errorf("attachment %d is nil; leave it out instead", i)
		}
		b, err := a.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("attachment %d (%s): %w", i, a.AttachmentType(), err)
		}
		atts[i] = b
	}
	return json.Marshal(entryJSON{TS: e.Time.UnixMilli(), Msg: e.Message, Attachments: atts, Important: e.Important})
}
