package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
)

// task is POST /v1/{sid}: form tasks (repeatable) and investigation_id.
// What becomes of the call (unknown sensor, offline, repeated idempotency
// key) is the backend's to say.
func (s *server) task(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	lines := form["tasks"]
	if len(lines) == 0 {
		badRequest(w, errors.New("no tasks: send at least one tasks=<command line> form value"))
		return
	}
	for i, l := range lines {
		if l == "" {
			badRequest(w, fmt.Errorf("tasks[%d] is empty", i))
			return
		}
	}
	err = s.b.Task(TaskCall{
		OID:             callerOrg(r),
		SID:             mux.Vars(r)["sid"],
		Lines:           lines,
		InvestigationID: form.Get("investigation_id"),
		IdempotencyKey:  r.Header.Get(IdempotencyHeader),
	})
	if e := (*Error)(nil); errors.As(err, &e) {
		writeError(w, e.Status, e.Message)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeOK(w)
}
