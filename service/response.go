package service

import (
	"encoding/json"
	"errors"
	"fmt"

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

// wireResponse is the JSON body of a webhook answer.
type wireResponse struct {
	Success bool            `json:"success"`
	Retry   bool            `json:"retry"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error,omitempty"`
	Jobs    []*jobs.Job     `json:"jobs,omitempty"`
}

// marshal renders r. A response that cannot be rendered (data that is not
// JSON, a new job without a cause) becomes a failure saying why, never a panic.
func (r Response) marshal() []byte {
	b, err := r.encode()
	if err != nil {
		b, _ = Response{Err: fmt.Errorf("building response: %w", err)}.encode()
	}
	return b
}

func (r Response) encode() ([]byte, error) {
	w := wireResponse{Success: r.Success, Retry: r.Retry && !r.Success, Data: json.RawMessage("{}"), Jobs: r.Jobs}
	if r.Err != nil {
		w.Error = r.Err.Error()
	}
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
			w.Data = d
		}
	}
	for _, j := range r.Jobs {
		if j == nil {
			return nil, errors.New("a nil job was attached")
		}
		if err := j.Validate(); err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}
