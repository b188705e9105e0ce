package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/lcsvc/lcservice/internal/jsonscan"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/tasking"
)

// Response is a handler's answer. Build it with OK, Fail or Retry.
type Response struct {
	// Success tells the cloud the event was handled.
	Success bool
	// Retry asks the cloud to deliver the event again; meaningful only when
	// Success is false.
	Retry bool
	// Data is marshalled as the response's data object; nil sends {}.
	Data any
	// Err is shown to the organization when set.
	Err error
	// Jobs are new jobs or updates to existing ones.
	Jobs []*jobs.Job
}

// OK is a successful response carrying data (nil for none).
func OK(data any) Response { return Response{Success: true, Data: data} }

// Fail is a failed response the cloud must not retry.
func Fail(err error) Response { return Response{Err: err} }

// Failf is Fail with a formatted error.
func Failf(format string, args ...any) Response { return Fail(fmt.Errorf(format, args...)) }

// Retry is a failed response the cloud should deliver again.
func Retry(err error) Response { return Response{Retry: true, Err: err} }

// FailOrRetry is Retry when err is transient — a failure of the LimaCharlie
// API that may not happen again (tasking.IsTransient: HTTP 429, 5xx, no
// answer in time, a dropped connection) — and Fail otherwise. Answer
// failed API calls with it, so the cloud delivers the event again instead
// of losing the work; handling it again does not task a sensor twice (see
// the interactive package).
func FailOrRetry(err error) Response {
	if tasking.IsTransient(err) {
		return Retry(err)
	}
	return Fail(err)
}

// WithJobs returns r with jobs appended.
func (r Response) WithJobs(j ...*jobs.Job) Response {
	r.Jobs = append(append([]*jobs.Job(nil), r.Jobs...), j...)
	return r
}

// WithData returns r with its data replaced.
func (r Response) WithData(data any) Response {
	r.Data = data
	return r
}

// notImplemented is the answer to an etype without a handler.
var notImplemented = Response{Err: errors.New("not implemented")}

// marshal renders r as the JSON body of a webhook answer:
//
//	{"success", "retry", "data" (an object, {} when nil), "error" (when
//	set), "jobs" (when any)}
//
// A response that cannot be rendered (data that is not JSON, a new job
// without a cause) becomes a failure saying why, never a panic.
func (r Response) marshal() []byte {
	b, err := r.encode()
	if err != nil {
		b, _ = Response{Err: fmt.Errorf("building response: %w", err)}.encode()
	}
	return b
}

// encode writes r in one pass: jobs and their attachments are appended to
// the one buffer, not marshalled and then checked again at every level.
func (r Response) encode() ([]byte, error) {
	data := []byte("{}")
	if r.Data != nil {
		d, err := json.Marshal(r.Data)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		switch {
		case string(d) == "null":
		case d[0] != '{':
			return nil, fmt.Errorf("data must be a JSON object, got %s", d[:min(len(d), 40)])
		default:
			data = d
		}
	}
	b := make([]byte, 0, 64+len(data))
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"retry":`...)
	b = strconv.AppendBool(b, r.Retry && !r.Success)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	if r.Err != nil {
		b = append(b, `,"error":`...)
		b = jsonscan.AppendString(b, r.Err.Error())
	}
	if len(r.Jobs) > 0 {
		b = append(b, `,"jobs":[`...)
		for i, j := range r.Jobs {
			if j == nil {
				return nil, errors.New("a nil job was attached")
			}
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = j.AppendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}
