package interactive_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// scrape reads the service's metrics: series (as printed) to value.
func scrape(t *testing.T, w *world) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	w.is.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	m := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		m[line[:i]] = v
	}
	return m
}

func TestMetricsAfterRoundTrip(t *testing.T) {
	var calls atomic.Int32
	w := newWorld(t, config{}, packagesService(&calls))
	if res := w.request(t, map[string]any{"sid": w.host.SID}); !res.Success {
		t.Fatalf("request: %+v", res)
	}
	task := w.task(t)
	// A second copy of the answer is an orphan.
	dets := w.reg.Detections()
	if len(dets) != 1 {
		t.Fatalf("detections: %+v", dets)
	}
	w.reply(t, task.InvestigationID, "OS_PACKAGES_REP", dets[0].Detect)

	got := scrape(t, w)
	for series, want := range map[string]float64{
		`lcservice_interactive_tasked_total`:                            1,
		`lcservice_interactive_task_errors_total`:                       0,
		`lcservice_interactive_replies_routed_total{route="closure"}`:   1,
		`lcservice_interactive_replies_routed_total{route="named"}`:     0,
		`lcservice_interactive_replies_routed_total{route="orphan"}`:    1,
		`lcservice_interactive_replies_refused_total{reason="invalid"}`: 0,
		`lcservice_interactive_replies_refused_total{reason="expired"}`: 0,
		`lcservice_interactive_timed_out_total`:                         0,
		`lcservice_interactive_evicted_total`:                           0,
		`lcservice_interactive_pending`:                                 0,
		`lcservice_api_calls_total{kind="task",status="2xx"}`:           1,
		`lcservice_api_calls_total{kind="rule_put",status="2xx"}`:       1,
		`lcservice_api_call_duration_seconds_count{kind="task"}`:        1,
		`lcservice_webhooks_total{etype="request",outcome="ok"}`:        1,
		`lcservice_webhooks_total{etype="org_install",outcome="ok"}`:    1,
		`lcservice_webhooks_total{etype="detection",outcome="ok"}`:      2,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	if !strings.Contains(w.log.String(), `"api_url":"`+w.cloud.URL()) {
		t.Errorf("API base URL not logged at start:\n%s", w.log.String())
	}
}

func TestAPIRetryMetrics(t *testing.T) {
	var calls atomic.Int32
	w := newWorld(t, config{}, packagesService(&calls))
	w.cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: http.StatusServiceUnavailable})
	if res := w.request(t, map[string]any{"sid": w.host.SID}); !res.Success {
		t.Fatalf("request: %+v", res)
	}
	got := scrape(t, w)
	for series, want := range map[string]float64{
		`lcservice_api_calls_total{kind="task",status="5xx"}`:    1,
		`lcservice_api_calls_total{kind="task",status="2xx"}`:    1,
		`lcservice_api_retries_total{kind="task"}`:               1,
		`lcservice_api_call_duration_seconds_count{kind="task"}`: 2,
		`lcservice_interactive_tasked_total`:                     1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}

func TestTaskErrorLoggedOnceAsTheWebhookFailure(t *testing.T) {
	var jwt, mid string
	w := newWorld(t, config{}, func(is *interactive.Service) {
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			jwt, mid = req.Org().JWT, req.MessageID
			then := interactive.Then(func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_version", then); err != nil {
				return service.FailOrRetry(err)
			}
			return service.OK(nil)
		})
	})
	w.cloud.FailNext(lctest.CallTask, 1, lctest.Fault{Status: http.StatusForbidden})
	if res := w.request(t, map[string]any{"sid": w.host.SID}); res.Success {
		t.Fatalf("request succeeded: %+v", res)
	}
	logs := w.log.String()
	var lines []string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "webhook failed") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d failure lines, want 1:\n%s", len(lines), logs)
	}
	for _, want := range []string{`"reason":"tasking sensor`, `"etype":"request"`, `"oid":"` + w.org.OID + `"`, `"mid":"` + mid + `"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("failure line lacks %s: %s", want, lines[0])
		}
	}
	if jwt == "" || strings.Contains(logs, jwt) {
		t.Errorf("JWT %q logged (or empty):\n%s", jwt, logs)
	}
	if got := scrape(t, w); got[`lcservice_interactive_task_errors_total`] != 1 || got[`lcservice_webhooks_total{etype="request",outcome="failed"}`] != 1 {
		t.Errorf("metrics after a task error: errors %v, failed webhooks %v", got[`lcservice_interactive_task_errors_total`], got[`lcservice_webhooks_total{etype="request",outcome="failed"}`])
	}
}
