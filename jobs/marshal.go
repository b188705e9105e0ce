package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
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

// jobIn is what UnmarshalJSON reads: a new job or an update, told apart by
// start, which only a new job carries.
type jobIn struct {
	ID      *string     `json:"id"`
	Start   *int64      `json:"start"`
	Cause   string      `json:"cause"`
	Sensors []string    `json:"sid"`
	Hist    []entryJSON `json:"hist"`
	End     *int64      `json:"end"`
}

// UnmarshalJSON reads b, a job as MarshalJSON writes it, into j, replacing
// whatever j held: a new job (one with a start) or an update, with its
// cause, sensors, history and end. Times come back to the millisecond, as
// they were sent. Each attachment is kept as it was rendered: its
// AttachmentType is its att_type and its MarshalJSON returns it unchanged,
// so a decoded job marshals to the JSON it was read from. It fails if b is
// not a job object, has no id, or holds an attachment that is not an
// object with an att_type. Entries narrated on j afterwards take the
// current time.
func (j *Job) UnmarshalJSON(b []byte) error {
	var in jobIn
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("jobs: decoding a job: %w", err)
	}
	if in.ID == nil || *in.ID == "" {
		return errors.New("jobs: decoding a job: it has no id; decode the JSON a Job marshalled to")
	}
	hist := make([]Entry, 0, len(in.Hist))
	for i, e := range in.Hist {
		var atts []Attachment
		for k, raw := range e.Attachments {
			a, err := decodeAttachment(raw)
			if err != nil {
				return fmt.Errorf("jobs: decoding job %s: entry %d (%q): attachment %d: %w", *in.ID, i, e.Msg, k, err)
			}
			atts = append(atts, a)
		}
		hist = append(hist, Entry{Time: time.UnixMilli(e.TS), Message: e.Msg, Attachments: atts, Important: e.Important})
	}
	var sensors []string
	for _, sid := range in.Sensors {
		if sid != "" && !slices.Contains(sensors, sid) {
			sensors = append(sensors, sid)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.id, j.isNew = *in.ID, in.Start != nil
	if j.now == nil {
		j.now = time.Now
	}
	j.start, j.end, j.closed = time.Time{}, time.Time{}, in.End != nil
	if in.Start != nil {
		j.start = time.UnixMilli(*in.Start)
	}
	if in.End != nil {
		j.end = time.UnixMilli(*in.End)
	}
	j.cause, j.sensors = in.Cause, sensors
	if len(hist) == 0 {
		hist = nil
	}
	j.hist = hist
	return nil
}

// rawAttachment is an attachment read back from job JSON, kept as it was
// rendered.
type rawAttachment struct {
	typ string
	raw json.RawMessage
}

// decodeAttachment keeps raw, an attachment's JSON, after checking that it
// is an object with a string att_type.
func decodeAttachment(raw json.RawMessage) (Attachment, error) {
	var head struct {
		Type *string `json:"att_type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("not an attachment object: %w", err)
	}
	if head.Type == nil {
		return nil, errors.New("no att_type")
	}
	return rawAttachment{typ: *head.Type, raw: raw}, nil
}

// AttachmentType returns the att_type the attachment was read with.
func (a rawAttachment) AttachmentType() string { return a.typ }

// MarshalJSON returns the attachment's JSON as it was read.
func (a rawAttachment) MarshalJSON() ([]byte, error) { return slices.Clone(a.raw), nil }
