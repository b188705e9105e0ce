package jobs

import (
	"fmt"
	"strconv"

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
