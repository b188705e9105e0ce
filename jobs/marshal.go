package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

// The wire shapes are written by hand, in one pass: a response holding
// jobs holding entries holding attachments is appended to one buffer,
// where encoding/json would re-check and copy the output of each nested
// MarshalJSON.
//
// A new job has every field, lists never null:
//
//	{"id", "start", "cause", "sid", "hist", "end" (when closed)}
//
// An update has the ID plus whatever changed (cause, sid and hist when
// not empty, end when closed). An entry is {"ts", "msg", "attachments"
// (always a list), "is_important"}.

// attachmentAppender is implemented by the package's own attachments,
// which append their wire shape directly.
type attachmentAppender interface {
	appendJSON(dst []byte) ([]byte, error)
}

// MarshalJSON renders j as the job JSON of the service protocol, a new job or
// an update (see the package documentation). It fails if Validate does, or if
// an attachment cannot be rendered.
func (j *Job) MarshalJSON() ([]byte, error) { return j.AppendJSON(nil) }

// AppendJSON appends to dst what MarshalJSON returns, and returns the
// extended buffer; on error dst is returned unchanged. It lets a response
// holding jobs be written in one buffer.
func (j *Job) AppendJSON(dst []byte) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.validateLocked(); err != nil {
		return dst, err
	}
	b := append(dst, `{"id":`...)
	b = jsonscan.AppendString(b, j.id)
	if j.isNew {
		b = append(b, `,"start":`...)
		b = strconv.AppendInt(b, j.start.UnixMilli(), 10)
	}
	if j.isNew || j.cause != "" {
		b = append(b, `,"cause":`...)
		b = jsonscan.AppendString(b, j.cause)
	}
	if j.isNew || len(j.sensors) > 0 {
		b = append(b, `,"sid":[`...)
		for i, sid := range j.sensors {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, sid)
		}
		b = append(b, ']')
	}
	if j.isNew || len(j.hist) > 0 {
		b = append(b, `,"hist":[`...)
		for i, e := range j.hist {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = e.appendJSON(b); err != nil {
				return dst, fmt.Errorf("jobs: job %s entry %d (%q): %w", j.id, i, e.Message, err)
			}
		}
		b = append(b, ']')
	}
	if j.closed {
		b = append(b, `,"end":`...)
		b = strconv.AppendInt(b, j.end.UnixMilli(), 10)
	}
	return append(b, '}'), nil
}

// MarshalJSON renders e as a history entry: ts (epoch ms), msg, attachments
// (always a list) and is_important.
func (e Entry) MarshalJSON() ([]byte, error) { return e.appendJSON(nil) }

func (e Entry) appendJSON(dst []byte) ([]byte, error) {
	b := append(dst, `{"ts":`...)
	b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
	b = append(b, `,"msg":`...)
	b = jsonscan.AppendString(b, e.Message)
	b = append(b, `,"attachments":[`...)
	for i, a := range e.Attachments {
		if isNilAttachment(a) {
			return dst, fmt.Errorf("attachment %d is nil; leave it out instead", i)
		}
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendAttachment(b, a); err != nil {
			return dst, fmt.Errorf("attachment %d (%s): %w", i, a.AttachmentType(), err)
		}
	}
	b = append(b, `],"is_important":`...)
	b = strconv.AppendBool(b, e.Important)
	return append(b, '}'), nil
}

// appendAttachment appends a's wire shape: directly for the package's own
// attachments, else its MarshalJSON checked and compacted once, as
// encoding/json would.
func appendAttachment(dst []byte, a Attachment) ([]byte, error) {
	if ap, ok := a.(attachmentAppender); ok {
		return ap.appendJSON(dst)
	}
	out, err := a.MarshalJSON()
	if err != nil {
		return dst, err
	}
	b, err := jsonscan.AppendCompact(dst, out)
	if err != nil {
		return dst, fmt.Errorf("MarshalJSON returned invalid JSON: %w", err)
	}
	return b, nil
}

// entryJSON is a history entry as UnmarshalJSON reads it, attachments raw.
type entryJSON struct {
	TS          int64             `json:"ts"`
	Msg         string            `json:"msg"`
	Attachments []json.RawMessage `json:"attachments"`
	Important   bool              `json:"is_important"`
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
