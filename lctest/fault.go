package lctest

import (
	"net/http"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/api"
)

// APICall is a kind of REST API call, for FailNext.
type APICall string

// The kinds of API call.
const (
	CallTask       APICall = "task"        // POST /v1/{sid}
	CallRuleList   APICall = "rule.list"   // GET /v1/hive/dr-{ns}/{oid}, GET /v1/rules/{oid}
	CallRuleGet    APICall = "rule.get"    // GET /v1/hive/dr-{ns}/{oid}/{name}/data
	CallRulePut    APICall = "rule.put"    // POST /v1/hive/dr-{ns}/{oid}/{name}/data, POST /v1/rules/{oid}
	CallRuleDelete APICall = "rule.delete" // DELETE /v1/hive/dr-{ns}/{oid}/{name}, DELETE /v1/rules/{oid}
)

// Fault is what the API does to a call instead of, or before, serving it.
// A fault applies after authentication: a call with a bad JWT is refused
// as always and consumes no fault.
type Fault struct {
	// Status, when not 0, answers the call with this status and an error
	// body without serving it: 429 for a rate limit, 403, 503, …
	Status int
	// Header is added to that answer, e.g. X-RateLimit-Period with a 429.
	Header http.Header
	// Delay holds the call this long first (a slow API); the wait ends
	// early if the client gives up, and then nothing is served.
	Delay time.Duration
	// Drop closes the connection without an answer, after Delay; the call
	// is not served.
	Drop bool
}

// FailNext applies f to the next n calls of kind call, after the faults
// already waiting for that kind; n <= 0 forgets the faults waiting for
// it. A call a fault answers or drops is not served: a task is not
// tasked and its idempotency key stays unused, so a client's retry goes
// through. Each fault is recorded as an ActivityFault.
//
//	cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: 429, Header: http.Header{"X-Ratelimit-Period": {"1"}}})
//	cloud.FailNext(lctest.CallRulePut, 1, lctest.Fault{Drop: true})
func (c *Cloud) FailNext(call APICall, n int, f Fault) {
	c.faults.Add(api.Call(call), n, api.Fault(f))
}
