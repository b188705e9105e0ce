package tasking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/uuid"
)

// TaskRequest is one task for one sensor.
type TaskRequest struct {
	SID             string   // sensor to task
	Commands        []string // command lines, e.g. "os_packages"; each is one `tasks` value
	InvestigationID string   // echoed on every event the sensor answers with; see Codec
	// IdempotencyKey is sent as x-idempotent-key so the API tasks the
	// sensor once however often the call is retried. When empty, Task
	// picks a random one per call.
	IdempotencyKey string
}

// Task sends t to its sensor: POST /v1/{sid}. It returns once the API has
// accepted the task; the sensor's answers arrive later, as events.
func (c *Client) Task(ctx context.Context, org Org, t TaskRequest) error {
	sid, err := pathSegment("TaskRequest.SID", t.SID)
	if err != nil {
		return err
	}
	if len(t.Commands) == 0 {
		return errors.New("tasking: TaskRequest.Commands is empty: give at least one command line, e.g. \"os_packages\"")
	}
	for i, cmd := range t.Commands {
		if cmd == "" {
			return fmt.Errorf("tasking: TaskRequest.Commands[%d] is empty", i)
		}
	}
	key := t.IdempotencyKey
	if key == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return fmt.Errorf("tasking: making an idempotency key: %w", err)
		}
		key = id.String()
	}
	form := url.Values{"tasks": t.Commands}
	if t.InvestigationID != "" {
		form.Set("investigation_id", t.InvestigationID)
	}
	_, err = c.do(ctx, org, apiCall{
		op:     fmt.Sprintf("task sensor %q", t.SID),
		kind:   KindTask,
		method: http.MethodPost,
		path:   "/v1/" + sid,
		form:   form,
		header: http.Header{"X-Idempotent-Key": {key}},
	})
	return err
}
