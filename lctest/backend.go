package lctest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/api"
	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// backend is the cloud as its REST API sees it.
type backend struct{ c *Cloud }

func (b backend) OrgByJWT(jwt string) (string, bool) {
	o, ok := b.c.orgByToken(jwt)
	if !ok {
		return "", false
	}
	return o.OID, true
}

func (b backend) Rules(oid string) api.RuleStore {
	o, _ := b.c.org(oid)
	return orgRules{o}
}

func (b backend) Faulted(f api.Faulted) {
	what := fmt.Sprintf("%s %s %s", f.Call, f.Method, f.Path)
	var how []string
	if f.Fault.Delay > 0 {
		how = append(how, "delayed "+f.Fault.Delay.String())
	}
	switch {
	case f.Fault.Drop:
		how = append(how, "dropped the connection")
	case f.Fault.Status != 0:
		how = append(how, fmt.Sprintf("answered HTTP %d", f.Fault.Status))
	}
	b.c.notify(Activity{Kind: ActivityFault, OID: f.OID, SID: f.SID, What: what,
		Err: fmt.Errorf("injected fault: %s", strings.Join(how, ", then "))})
}

// Task tasks a sensor: it answers 404 for a sensor outside the caller's
// organization and, in OfflineError mode, for an offline one; it accepts
// a repeated idempotency key without tasking again; otherwise it records
// the call and has the sensor answer every command line.
func (b backend) Task(call api.TaskCall) error {
	c := b.c
	s, ok := c.sensor(call.SID)
	if !ok || s.org.OID != call.OID {
		// A sensor of another org is as unknown as no sensor at all.
		return &api.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("sensor %s not found in organization %s", call.SID, call.OID)}
	}
	online, latency := s.state()
	rec := &TaskRecord{
		SID:             call.SID,
		Commands:        call.Lines,
		InvestigationID: call.InvestigationID,
		IdempotencyKey:  call.IdempotencyKey,
		Time:            time.Now(),
		Offline:         !online,
	}
	a := Activity{Kind: ActivityTask, OID: call.OID, SID: call.SID, What: strings.Join(call.Lines, "; "),
		InvestigationID: call.InvestigationID, Task: rec}
	if !online && c.offline == OfflineError {
		msg := fmt.Sprintf("sensor %s is offline: the task was not queued", call.SID)
		a.Kind, a.Err = ActivityTaskRefused, errors.New(msg)
		c.notify(a)
		return &api.Error{Status: http.StatusNotFound, Message: msg}
	}
	if !s.org.firstUse(call.SID, call.IdempotencyKey) {
		a.Kind, a.Err = ActivityTaskRefused, fmt.Errorf("idempotency key %q already used for this sensor: not tasked again", call.IdempotencyKey)
		c.notify(a)
		return nil
	}
	if !online {
		a.Err = errors.New("the sensor is offline: the task was accepted but will never reach it")
	}
	c.notify(a)
	if !online {
		return nil
	}
	for _, line := range call.Lines {
		if !c.schedule(s, line, call.InvestigationID, latency) {
			return &api.Error{Status: http.StatusServiceUnavailable, Message: "the cloud is shutting down"}
		}
	}
	return nil
}

// orgRules is an organization's rule store as the rule APIs use it.
type orgRules struct{ o *Org }

func (r orgRules) Put(rule dr.Rule) dr.Rule                   { return r.o.putRule(rule) }
func (r orgRules) Delete(namespace, name string) bool         { return r.o.rules.Delete(namespace, name) }
func (r orgRules) Get(namespace, name string) (dr.Rule, bool) { return r.o.rules.Get(namespace, name) }
func (r orgRules) List(namespace string) []dr.Rule            { return r.o.rules.List(namespace) }

// IdempotencyHeader is the request header that makes a task call
// idempotent: a key already used for the same sensor is answered 200 and
// not tasked again.
const IdempotencyHeader = "X-Idempotent-Key"
