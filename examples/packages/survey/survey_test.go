package survey_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

const secret = "survey-test-secret"

// world is an emulated cloud with one org, the survey service registered
// and installed.
type world struct {
	cloud *lctest.Cloud
	org   *lctest.Org
	svc   *lctest.Service
	is    *interactive.Service
	clock *tracking.ManualClock // timeouts fire when the test advances it
}

func newWorld(t *testing.T, ttl time.Duration) *world {
	t.Helper()
	cloud := lctest.New(t)
	clock := tracking.NewManualClock(time.Now())
	is, err := survey.New(secret, survey.Options{
		TTL: ttl,
		Interactive: []interactive.Option{
			interactive.WithAPIURL(cloud.URL()),
			interactive.WithClock(clock),
			interactive.WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = is.Shutdown(context.Background()) })
	svc, err := cloud.Register(t.Context(), lctest.ServiceConfig{Name: survey.Name, Secret: secret, Handler: is})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cloud: cloud, org: cloud.NewOrg("acme"), svc: svc, is: is, clock: clock}
	if res, err := svc.Install(t.Context(), w.org); err != nil || !res.Success {
		t.Fatalf("install: %+v %v", res, err)
	}
	return w
}

// survey requests a survey of s and returns the job id from the response.
func (w *world) survey(t *testing.T, s *lctest.Sensor) string {
	t.Helper()
	res, err := w.svc.Request(t.Context(), w.org, map[string]any{"sid": s.SID})
	if err != nil || !res.Success || len(res.Jobs) != 1 {
		t.Fatalf("request: %+v %v", res, err)
	}
	return res.Jobs[0].ID
}

func (w *world) job(t *testing.T, id string) lctest.Job {
	t.Helper()
	j, ok := w.svc.Job(id)
	if !ok {
		t.Fatalf("job %s never seen", id)
	}
	return j
}

func TestSurveyOfEachPlatform(t *testing.T) {
	w := newWorld(t, time.Minute)
	if _, ok := w.org.Rule("managed", "svc-package-survey-ex"); !ok {
		t.Fatal("install did not store the replicant rule")
	}
	for _, cfg := range []lctest.SensorConfig{
		{Hostname: "win-1", Platform: lctest.Windows},
		{Hostname: "web-1", Platform: lctest.Linux},
		{Hostname: "mac-1", Platform: lctest.MacOS},
	} {
		t.Run(cfg.Platform.String(), func(t *testing.T) {
			s := w.org.AddSensor(cfg)
			id := w.survey(t, s)
			if err := w.cloud.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			j := w.job(t, id)
			if j.End == 0 || j.Cause != "package survey requested" || len(j.Sensors) != 1 || j.Sensors[0] != s.SID {
				t.Fatalf("job not closed or wrong: %+v", j)
			}
			want := len(builtinPackages(t, s))
			// Entries are in time order; the request's own entry and the
			// answer's may share a millisecond, so look the answer up.
			last, ok := entry(j, cfg.Hostname+" has ")
			if !ok || len(last.Attachments) != 1 {
				t.Fatalf("no answer entry with a table: %+v", j.Hist)
			}
			var tbl struct {
				Type    string   `json:"att_type"`
				Headers []string `json:"headers"`
				Rows    [][]any  `json:"rows"`
			}
			if err := jsonUnmarshal(last.Attachments[0], &tbl); err != nil {
				t.Fatal(err)
			}
			if tbl.Type != "table" || strings.Join(tbl.Headers, ",") != "package,version" || len(tbl.Rows) != want || want == 0 {
				t.Errorf("table: %d rows (sensor has %d packages), headers %v", len(tbl.Rows), want, tbl.Headers)
			}
		})
	}
	st := w.is.Stats()
	if st.Tasked != 3 || st.RoutedClosure != 3 || st.Refused != 0 || st.Pending.Pending != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func builtinPackages(t *testing.T, s *lctest.Sensor) []any {
	t.Helper()
	evs := lctest.BuiltinAnswer(s, lctest.Command{Name: "os_packages", Line: "os_packages"})
	for _, e := range evs {
		if e.Type == "OS_PACKAGES_REP" {
			p, _ := e.Payload["PACKAGES"].([]any)
			if p == nil {
				if m, ok := e.Payload["PACKAGES"].([]map[string]any); ok {
					for _, x := range m {
						p = append(p, x)
					}
				}
			}
			return p
		}
	}
	t.Fatalf("no OS_PACKAGES_REP in the built-in answer: %+v", evs)
	return nil
}

func TestOfflineSensorTimesOut(t *testing.T) {
	w := newWorld(t, 2*time.Minute)
	s := w.org.AddSensor(lctest.SensorConfig{Hostname: "laptop-7", Platform: lctest.Windows, Offline: true})
	id := w.survey(t, s)
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if j := w.job(t, id); j.End != 0 {
		t.Fatalf("job closed without an answer: %+v", j)
	}
	w.clock.Advance(2*time.Minute + time.Second) // returns once the timeout has run
	if st := w.is.Stats(); st.TimedOut != 1 || st.QueuedJobs != 1 {
		t.Fatalf("after the TTL: stats = %+v", st)
	}
	// The timeout's job update rides the next event to the organization.
	if _, err := w.svc.Tick(t.Context(), w.org, "org_per_1h"); err != nil {
		t.Fatal(err)
	}
	j := w.job(t, id)
	if j.End == 0 {
		t.Fatalf("the timeout did not close the job: %+v", j)
	}
	if e, ok := entry(j, "sensor "+s.SID+" did not answer"); !ok || !e.Important {
		t.Errorf("no important timeout entry: %+v", j.Hist)
	}
	if st := w.is.Stats(); st.TimedOut != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSensorErrorClosesJob(t *testing.T) {
	w := newWorld(t, time.Minute)
	s := w.org.AddSensor(lctest.SensorConfig{Hostname: "db-1", Platform: lctest.Linux})
	s.Answer("os_packages", func(*lctest.Sensor, lctest.Command) []lctest.Event {
		return []lctest.Event{lctest.Receipt(5, "access denied")}
	})
	id := w.survey(t, s)
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	j := w.job(t, id)
	if _, ok := entry(j, "db-1 could not list packages"); j.End == 0 || !ok {
		t.Errorf("job = %+v", j)
	}
}

func TestForgottenRuleMeansNoAnswerUntilItHeals(t *testing.T) {
	w := newWorld(t, time.Minute)
	s := w.org.AddSensor(lctest.SensorConfig{Hostname: "web-2", Platform: lctest.Linux})
	if !w.org.DeleteRule("managed", "svc-package-survey-ex") {
		t.Fatal("rule was not there to delete")
	}
	id := w.survey(t, s)
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(w.org.Tasks()) != 1 || len(w.svc.Detections()) != 0 || w.job(t, id).End != 0 {
		t.Fatalf("without its rule the service got answers: %d detections", len(w.svc.Detections()))
	}
	// The hourly tick re-installs the rule; the next survey completes.
	if _, err := w.svc.Tick(t.Context(), w.org, "org_per_1h"); err != nil {
		t.Fatal(err)
	}
	id = w.survey(t, s)
	if err := w.cloud.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w.job(t, id).End == 0 {
		t.Error("survey after the rule healed did not complete")
	}
}

func TestRequestWithoutSensorRefused(t *testing.T) {
	w := newWorld(t, time.Minute)
	res, err := w.svc.Request(t.Context(), w.org, map[string]any{})
	if err != nil || res.Success || !strings.Contains(res.Error, "missing parameter sid") {
		t.Errorf("got %+v %v", res, err)
	}
	if _, err := survey.New("", survey.Options{}); err == nil {
		t.Error("empty secret accepted")
	}
}

// entry returns the first history entry whose message starts with prefix.
func entry(j lctest.Job, prefix string) (lctest.JobEntry, bool) {
	for _, e := range j.Hist {
		if strings.HasPrefix(e.Msg, prefix) {
			return e, true
		}
	}
	return lctest.JobEntry{}, false
}
