package jobs

import (
	"errors"
	"fmt"
)

// ErrNoID is returned when a job reopened with an empty ID is validated or
// marshalled.
var ErrNoID = errors.New("jobs: job has no ID; pass Reopen the ID of the job to update")

// NoCauseError is returned when a new job is validated or marshalled without
// a cause: the cloud requires one on every new job.
type NoCauseError struct {
	// ID is the job's ID.
	ID string
}

// Error implements error.
func (e *NoCauseError) Error() string {
	return fmt.Sprintf("jobs: new job %s has no cause; call SetCause before sending it", e.ID)
}
