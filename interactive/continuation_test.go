package interactive

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
	"github.com/lcsvc/lcservice/tracking"
)

// continuationCases are the ids and state a continuation may be given:
// the common case, kept compact, and every form kept as it is.
var continuationCases = map[string]struct {
	sid, jobID string
	state      []byte
	compact    bool // nothing behind rare
}{
	"uuids":          {sid: testSID, jobID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", compact: true},
	"no job":         {sid: testSID, compact: true},
	"uppercase":      {sid: strings.ToUpper(testSID), jobID: "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"},
	"not uuids":      {sid: "sensor-1", jobID: "job-7"},
	"zero uuids":     {sid: uuid.Nil.String(), jobID: uuid.Nil.String()},
	"state":          {sid: testSID, jobID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", state: []byte(`{"n":7}`)},
	"empty sensor":   {sid: ""},
	"braced sensor":  {sid: "{" + testSID + "}"},
	"short job uuid": {sid: testSID, jobID: testSID[:35]},
}

func TestContinuationKeepsEveryField(t *testing.T) {
	for name, tc := range continuationCases {
		t.Run(name, func(t *testing.T) {
			c := newContinuation("h", testOID, tc.sid, "os_packages", tc.jobID, tc.state)
			check := func(what string, c *continuation) {
				t.Helper()
				if c.handler != "h" || c.oid() != testOID || c.sid() != tc.sid || c.command != "os_packages" ||
					c.jobID() != tc.jobID || string(c.state()) != string(tc.state) {
					t.Errorf("%s: handler %q, oid %q, sid %q, command %q, job %q, state %q; want h, %s, %q, os_packages, %q, %q",
						what, c.handler, c.oid(), c.sid(), c.command, c.jobID(), c.state(), testOID, tc.sid, tc.jobID, tc.state)
				}
			}
			check("new", c)
			if compact := c.rare == nil; compact != tc.compact {
				t.Errorf("kept compact: %v, want %v", compact, tc.compact)
			}

			// Through the shared store: closures stay with their owner.
			c.onTimeout = func(context.Context, *Timeout) {}
			var rec record
			b, err := json.Marshal(c.record("replica-1"))
			if err == nil {
				err = json.Unmarshal(b, &rec)
			}
			if err != nil {
				t.Fatal(err)
			}
			shared := rec.continuation()
			check("shared", shared)
			if shared.owner() != "replica-1" || shared.hasThen() || !shared.hasOnTimeout() || shared.then != nil || shared.onTimeout != nil {
				t.Errorf("shared: owner %q, hasThen %v, hasOnTimeout %v, closures %v %v; want replica-1, false, true, none",
					shared.owner(), shared.hasThen(), shared.hasOnTimeout(), shared.then != nil, shared.onTimeout != nil)
			}
		})
	}
}

// Tasks share their organization's id string rather than each keeping
// its own.
func TestContinuationsShareTheOrganizationID(t *testing.T) {
	a := newContinuation("h", strings.Clone(testOID), testSID, "os_packages", "", nil)
	b := newContinuation("h", strings.Clone(testOID), testSID, "os_packages", "", nil)
	if a.org != b.org || a.oid() != testOID {
		t.Errorf("two tasks of organization %s hold %q and %q, not one string", testOID, a.oid(), b.oid())
	}
}

// A task's timeout carries what Task was given, whatever the form of its
// ids.
func TestTimeoutCarriesWhatTaskWasGiven(t *testing.T) {
	clock := tracking.NewManualClock(time.Now())
	s, err := New("itest", testSecret, WithClock(clock), WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	s.HandleReply("h", func(context.Context, *Reply) service.Response { return service.OK(nil) })
	var mu sync.Mutex
	got := map[string]*Timeout{}
	org := tasking.Org{ID: testOID, JWT: testJWT}
	for name, tc := range continuationCases {
		if tc.sid == "" {
			continue // Task refuses it
		}
		opts := []TaskOption{Via("h"), TTL(time.Minute), OnTimeout(func(_ context.Context, to *Timeout) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = to
		})}
		if tc.jobID != "" {
			opts = append(opts, WithJob(jobs.Reopen(tc.jobID)))
		}
		if tc.state != nil {
			opts = append(opts, WithState(json.RawMessage(tc.state)))
		}
		task, err := s.newTask(org, tc.sid, "os_packages", opts)
		if err == nil {
			err = s.track(context.Background(), uuid.NewString(), &task)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	clock.Advance(2 * time.Minute) // returns once the timeouts have run
	mu.Lock()
	defer mu.Unlock()
	for name, tc := range continuationCases {
		if tc.sid == "" {
			continue
		}
		to := got[name]
		if to == nil {
			t.Errorf("%s: no timeout", name)
			continue
		}
		jobID := ""
		if to.Job != nil {
			jobID = to.Job.ID()
		}
		var state json.RawMessage
		if to.HasState() {
			_ = to.State(&state)
		}
		if to.Org.ID != testOID || to.SID != tc.sid || to.Command != "os_packages" ||
			jobID != tc.jobID || string(state) != string(tc.state) {
			t.Errorf("%s: timeout of org %q, sid %q, command %q, job %q, state %q; want %s, %q, os_packages, %q, %q",
				name, to.Org.ID, to.SID, to.Command, jobID, state, testOID, tc.sid, tc.jobID, tc.state)
		}
	}
}
