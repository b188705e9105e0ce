package lctest

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// IdempotencyHeader is the request header that makes a task call
// idempotent: a key already used for the same sensor is answered 200 and
// not tasked again.
const IdempotencyHeader = "X-Idempotent-Key"

// task is POST /v1/{sid}: form tasks (repeatable) and investigation_id.
func (c *Cloud) task(w http.ResponseWriter, r *http.Request) {
	org := callerOrg(r)
	sid := mux.Vars(r)["sid"]
	s, ok := c.sensor(sid)
	if !ok || s.org != org {
		// A sensor of another org is as unknown as no sensor at all.
		writeError(w, http.StatusNotFound, fmt.Sprintf("sensor %s not found in organization %s", sid, org.OID))
		return
	}
	refused := func(status int, msg string) {
		c.notify(Activity{Kind: ActivityTaskRefused, OID: org.OID, SID: sid, Err: errors.New(msg)})
		writeError(w, status, msg)
	}
	if f, ok := c.takeFailure(); ok {
		for k, vs := range f.header {
			w.Header()[k] = vs
		}
		refused(f.status, fmt.Sprintf("injected failure: HTTP %d", f.status))
		return
	}
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
	inv := form.Get("investigation_id")
	online, latency := s.state()
	if !online && c.offline == OfflineError {
		refused(http.StatusNotFound, fmt.Sprintf("sensor %s is offline: the task was not queued", sid))
		return
	}
	rec := TaskRecord{
		SID:             sid,
		Commands:        lines,
		InvestigationID: inv,
		IdempotencyKey:  r.Header.Get(IdempotencyHeader),
		Time:            time.Now(),
		Offline:         !online,
	}
	if !org.recordTask(rec) {
		c.notify(Activity{Kind: ActivityTaskRefused, OID: org.OID, SID: sid, InvestigationID: inv,
			Err: fmt.Errorf("idempotency key %q already used for this sensor: not tasked again", rec.IdempotencyKey)})
		writeOK(w)
		return
	}
	for _, line := range lines {
		a := Activity{Kind: ActivityTask, OID: org.OID, SID: sid, What: line, InvestigationID: inv}
		if !online {
			a.Err = errors.New("the sensor is offline: the task was accepted but will never reach it")
			c.notify(a)
			continue
		}
		c.notify(a)
		if !c.schedule(s, line, inv, latency) {
			writeError(w, http.StatusServiceUnavailable, "the cloud is shutting down")
			return
		}
	}
	writeOK(w)
}
