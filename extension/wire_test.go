package extension

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

func TestDecodeMessageIsStrict(t *testing.T) {
	good := `{"version":20221218,"idempotency_key":"k","request":{"org":{"oid":"o","jwt":"j"},"action":"a","data":{"x":[1,{"y":2}]},"inv_id":"i"}}`
	m, k, err := decodeMessage([]byte(good))
	if err != nil || k != kindRequest || m.IdempotencyKey != "k" || m.Request.Org.OID != "o" || m.Request.Org.JWT != "j" ||
		m.Request.Action != "a" || string(m.Request.Data) != `{"x":[1,{"y":2}]}` || m.Request.InvID != "i" {
		t.Fatalf("%+v %v %v", m, k, err)
	}
	if m, k, err := decodeMessage([]byte(`{"event":{"event_name":"subscribe","org":{"oid":"o"}},"heartbeat":null}`)); err != nil || k != kindEvent || m.Event.EventName != "subscribe" || m.Event.Org.OID != "o" {
		t.Errorf("event: %+v %v %v", m, k, err)
	}
	if _, k, err := decodeMessage([]byte(`{"heartbeat":{}}`)); err != nil || k != kindHeartbeat {
		t.Errorf("heartbeat: %v %v", k, err)
	}
	for body, want := range map[string]string{
		`{"HEARTBEAT":{}}`:                          `field names are lowercase`,
		`{"heartbeat":{},"heartbeat":{}}`:           `appears twice`,
		`{"request":{"action":"a","ACTION":"b"}}`:   `field names are lowercase`,
		`{"request":{"action":"a","action":"b"}}`:   `appears twice`,
		`{"request":{"org":{"oid":"o","oid":"p"}}}`: `appears twice`,
		`{"request":{"org":{"OID":"o"}}}`:           `field names are lowercase`,
		`{"request":"a"}`:                           `expected an object`,
		`{"request":{"action":7}}`:                  `expected a string`,
		`{"heartbeat":{},"schema_request":{}}`:      `exactly one expected`,
		`{"version":"x","heartbeat":{}}`:            `not a version number`,
		`{}`:                                        `carries none`,
		`[]`:                                        `a JSON object`,
		`{"heartbeat":{}`:                           `not valid JSON`,
		`{"idempotency_key":"` + strings.Repeat("k", 513) + `"}`: `at most 512`,
	} {
		if _, _, err := decodeMessage([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: %v, want an error saying %q", body, err, want)
		}
	}
}

func TestRenderWritesOnce(t *testing.T) {
	tr := &Transport{}
	req := service.NewRequest(service.RequestEvent, tasking.Org{ID: "o"}, nil, nil)
	job := func() *jobs.Job {
		j := jobs.New()
		j.SetCause("why")
		j.Narrate("seen", false)
		return j
	}
	conts := []continuation{{InDelaySec: 5, Action: "a", State: json.RawMessage(`{"s":1}`)}}
	for _, c := range []struct {
		name   string
		resp   service.Response
		status int
		check  func(map[string]json.RawMessage) bool
	}{
		{"nothing", service.OK(nil), 200, func(m map[string]json.RawMessage) bool { return m["data"] == nil }},
		{"data", service.OK(map[string]int{"n": 1}), 200, func(m map[string]json.RawMessage) bool { return string(m["data"]) == `{"n":1}` }},
		{"jobs only", service.OK(nil).WithJobs(job()), 200, func(m map[string]json.RawMessage) bool {
			return strings.HasPrefix(string(m["data"]), `{"jobs":[{"id":`)
		}},
		{"data and jobs", service.OK(map[string]int{"n": 1}).WithJobs(job(), job()), 200, func(m map[string]json.RawMessage) bool {
			var d struct {
				N    int
				Jobs []map[string]any
			}
			return json.Unmarshal(m["data"], &d) == nil && d.N == 1 && len(d.Jobs) == 2
		}},
		{"data with its own jobs", service.OK(map[string]int{"jobs": 1}).WithJobs(job()), 200, func(m map[string]json.RawMessage) bool {
			var d map[string]json.RawMessage
			return json.Unmarshal(m["data"], &d) == nil && string(d["jobs"]) == "1" && strings.HasPrefix(string(d["lcsvc_jobs"]), `[{"id":`)
		}},
		{"empty data and jobs", service.OK(map[string]int{}).WithJobs(job()), 200, func(m map[string]json.RawMessage) bool {
			return strings.HasPrefix(string(m["data"]), `{"jobs":[{`)
		}},
		{"data not an object", service.OK([]int{1}), 400, func(m map[string]json.RawMessage) bool {
			return strings.Contains(string(m["error"]), "data must be a JSON object") && string(m["retriable"]) == "false"
		}},
		{"retry", service.Retry(errors.New("later")), 500, func(m map[string]json.RawMessage) bool {
			return string(m["error"]) == `"later"` && string(m["retriable"]) == "true"
		}},
		{"failure", service.Failf("no"), 400, func(m map[string]json.RawMessage) bool {
			return string(m["error"]) == `"no"` && string(m["retriable"]) == "false"
		}},
	} {
		status, out := tr.render(req, c.resp, conts)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil || status != c.status || !c.check(m) ||
			string(m["version"]) != "20221218" || !strings.Contains(string(m["continuations"]), `"in_delay_sec":5`) {
			t.Errorf("%s: %d %s (%v)", c.name, status, out, err)
		}
	}
}
