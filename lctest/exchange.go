package lctest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Response is a service's answer to a webhook: the JSON object
// {success, retry, error, data, jobs} in an HTTP 200.
type Response struct {
	Success bool
	Retry   bool
	Error   string
	Data    json.RawMessage // as sent; nil when absent
	Jobs    []Job           // new jobs and job updates, as sent (an extension's: data.jobs)
	Status  int             // the HTTP status code
	// Continuations are what an extension's answer asked the cloud to
	// deliver later.
	Continuations []Continuation
}

// responseWire is the JSON shape of a response.
type responseWire struct {
	Success bool            `json:"success"`
	Retry   bool            `json:"retry"`
	Error   string          `json:"error"`
	Data    json.RawMessage `json:"data"`
	Jobs    []Job           `json:"jobs"`
}

// decodeResponse reads a service's answer. Anything but HTTP 200 with a
// JSON object is an error.
func decodeResponse(status int, body []byte) (Response, error) {
	r := Response{Status: status}
	if status != 200 {
		return r, fmt.Errorf("answered HTTP %d (%s): %s", status, http.StatusText(status), clip(body))
	}
	var w responseWire
	if err := json.Unmarshal(body, &w); err != nil {
		return r, fmt.Errorf("answered HTTP 200 with a body that is not the response JSON object (%v): %s", err, clip(body))
	}
	r.Success, r.Retry, r.Error, r.Data, r.Jobs = w.Success, w.Retry, w.Error, w.Data, w.Jobs
	return r, nil
}

// clip shortens a body for an error message.
func clip(body []byte) string {
	const limit = 512
	if len(body) > limit {
		return string(body[:limit]) + "…"
	}
	return string(body)
}

// Exchange is one delivery attempt of a webhook and what came back.
type Exchange struct {
	Time    time.Time
	EType   string // for an extension, the kind of message: request, event, heartbeat, …
	Action  string // for an extension, the request's action or the event's name
	OID     string // empty for global etypes
	MID     string // the same on every redelivery; an extension's idempotency_key
	Attempt int    // 1 for the first delivery
	// Replica is the replica that got the attempt (see
	// ServiceConfig.Replicas): 0 for a service given by Handler or URL, -1
	// when every replica was stopped (Err is ErrReplicasStopped).
	Replica int
	Request json.RawMessage
	// Response is the decoded answer; zero but for Status when Err is set.
	Response Response
	Body     []byte // the raw response body
	Err      error  // transport failure, non-200 status or undecodable body

	sent int      // the position of the attempt's ActivityWebhook in the record
	msg  *message // the webhook, for Service.Redeliver
}
