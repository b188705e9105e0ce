package lctest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestTaskEmitsNotificationThenReply(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux, Arch: ARM64, Tags: []string{"prod"}})
	const inv = "svc-svc-ex/AbC+/=é~"
	before := time.Now()

	form := url.Values{"tasks": {"os_version", `file_hash "/etc/hosts"`}, "investigation_id": {inv}}
	status, _, body := a.do(org.JWT, http.MethodPost, "/v1/"+s.SID, form, http.Header{IdempotencyHeader: {"k1"}})
	if status != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Fatalf("task: HTTP %d %s, want 200 {}", status, body)
	}
	waitIdle(t, c)

	tasks := org.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("Tasks = %+v, want one", tasks)
	}
	tr := tasks[0]
	if tr.SID != s.SID || !slices.Equal(tr.Commands, form["tasks"]) || tr.InvestigationID != inv || tr.IdempotencyKey != "k1" || tr.Offline || tr.Time.Before(before) {
		t.Errorf("task record = %+v", tr)
	}

	events := rec.events(t)
	// Each answer follows its own notification; commands run concurrently.
	byRequest := map[string][]string{}
	answers := map[string]string{"OS_VERSION_REQ": "OS_VERSION_REP", "FILE_HASH_REQ": "FILE_HASH_REP"}
	for _, e := range events {
		if e.Routing.EventType == "CLOUD_NOTIFICATION" {
			id := e.Event["NOTIFICATION_ID"].(string)
			byRequest[id] = append(byRequest[id], e.Routing.EventType)
			continue
		}
		for id, seq := range byRequest {
			if answers[id] == e.Routing.EventType {
				byRequest[id] = append(seq, e.Routing.EventType)
			}
		}
	}
	for id, rep := range answers {
		if want := []string{"CLOUD_NOTIFICATION", rep}; !slices.Equal(byRequest[id], want) {
			t.Errorf("events for %s = %v, want %v (all: %v)", id, byRequest[id], want, typesOf(events))
		}
	}
	if len(events) != 4 {
		t.Fatalf("%d events, want 4: %v", len(events), typesOf(events))
	}

	for _, e := range events {
		r := e.Routing
		if r.OID != org.OID || r.SID != s.SID || r.Hostname != "web-1" || r.Plat != Linux || r.Arch != ARM64 {
			t.Errorf("routing identity = %+v", r)
		}
		if r.InvestigationID != inv {
			t.Errorf("investigation_id = %q, want %q verbatim", r.InvestigationID, inv)
		}
		if _, err := uuid.Parse(r.EventID); err != nil {
			t.Errorf("event_id %q is not a UUID", r.EventID)
		}
		if b, err := hex.DecodeString(r.This); err != nil || len(b) != 16 {
			t.Errorf("this = %q, want 32 hex digits", r.This)
		}
		if r.EventTime < before.UnixMilli() || r.EventTime > time.Now().UnixMilli() {
			t.Errorf("event_time %d is not epoch milliseconds of now", r.EventTime)
		}
		if r.ExtIP == "" || r.IntIP == "" || r.IID == "" || r.DID == "" || !slices.Equal(r.Tags, []string{"prod"}) {
			t.Errorf("routing details = %+v", r)
		}
		if r.EventType == "CLOUD_NOTIFICATION" {
			n, _ := e.Event["NOTIFICATION"].(map[string]any)
			id, _ := e.Event["HCP_IDENT"].(map[string]any)
			if n["INVESTIGATION_ID"] != inv || id["HCP_SENSOR_ID"] != strings.ReplaceAll(s.SID, "-", "") || e.Event["EXPIRY"] != float64(0) {
				t.Errorf("CLOUD_NOTIFICATION body = %v", e.Event)
			}
		}
	}
	if got := rec.kind(ActivityTask); len(got) != 1 || got[0].Task == nil || got[0].What != `os_version; file_hash "/etc/hosts"` {
		t.Errorf("observer saw task activities %+v, want one for the call", got)
	}
}

func TestTaskWithoutInvestigationID(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	newAPI(t, c).task(org, s.SID, "", "os_users")
	waitIdle(t, c)
	for _, a := range rec.kind(ActivityEvent) {
		if strings.Contains(string(a.Body), "investigation_id") {
			t.Fatalf("an event of a task without investigation_id carries one: %s", a.Body)
		}
	}
	if n := len(rec.kind(ActivityEvent)); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s1 := org.AddSensor(SensorConfig{})
	s2 := org.AddSensor(SensorConfig{})
	send := func(s *Sensor, key string) int {
		h := http.Header{}
		if key != "" {
			h.Set(IdempotencyHeader, key)
		}
		status, _, _ := a.do(org.JWT, http.MethodPost, "/v1/"+s.SID, url.Values{"tasks": {"os_version"}}, h)
		return status
	}

	c.FailNext(CallTask, 1, Fault{Status: http.StatusServiceUnavailable})
	steps := []struct {
		sensor *Sensor
		key    string
		status int
		tasks  int // org.Tasks() after the step
	}{
		{s1, "k", 503, 0},  // injected failure: the key is not consumed
		{s1, "k", 200, 1},  // the retry goes through
		{s1, "k", 200, 1},  // a repeat is answered 200 and not tasked
		{s2, "k", 200, 2},  // keys are per sensor
		{s1, "k2", 200, 3}, // a new key tasks again
		{s1, "", 200, 4},   // no key: every call tasks
		{s1, "", 200, 5},
	}
	for i, st := range steps {
		if got := send(st.sensor, st.key); got != st.status {
			t.Fatalf("step %d: HTTP %d, want %d", i, got, st.status)
		}
		if got := len(org.Tasks()); got != st.tasks {
			t.Fatalf("step %d: %d tasks recorded, want %d", i, got, st.tasks)
		}
	}
	waitIdle(t, c)
	if got := len(rec.kind(ActivityEvent)); got != 2*5 {
		t.Fatalf("%d events, want 10 (5 tasks × notification + reply)", got)
	}
	if got := len(rec.kind(ActivityTaskRefused)); got != 1 {
		t.Fatalf("%d refused activities, want 1 (the repeat)", got)
	}
	if got := len(rec.kind(ActivityFault)); got != 1 {
		t.Fatalf("%d faults, want 1", got)
	}
}

func TestOfflineModes(t *testing.T) {
	tests := []struct {
		mode     OfflineMode
		status   int
		recorded bool
	}{
		{OfflineSilent, 200, true},
		{OfflineError, 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			rec := &recorder{}
			c := newTestCloud(t, WithObserver(rec.observe), WithOfflineTasking(tt.mode))
			a := newAPI(t, c)
			org := c.NewOrg("acme")
			s := org.AddSensor(SensorConfig{Offline: true})
			if s.Online() {
				t.Fatal("a sensor configured Offline is online")
			}
			status, _, body := a.do(org.JWT, http.MethodPost, "/v1/"+s.SID, url.Values{"tasks": {"os_version"}}, nil)
			if status != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tt.status, body)
			}
			if tt.status != 200 && !strings.Contains(string(body), "offline") {
				t.Errorf("error body %s does not say the sensor is offline", body)
			}
			waitIdle(t, c)
			tasks := org.Tasks()
			if got := len(tasks) == 1; got != tt.recorded {
				t.Fatalf("tasks = %+v, recorded want %v", tasks, tt.recorded)
			}
			if tt.recorded && !tasks[0].Offline {
				t.Error("the task record does not say the sensor was offline")
			}
			if n := len(rec.kind(ActivityEvent)); n != 0 {
				t.Fatalf("an offline sensor emitted %d events", n)
			}

			s.SetOnline(true)
			a.task(org, s.SID, "", "os_version")
			waitIdle(t, c)
			if n := len(rec.kind(ActivityEvent)); n != 2 {
				t.Fatalf("back online: %d events, want 2", n)
			}
		})
	}
}

func TestScriptedResponder(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	var gotCmd Command
	s := org.AddSensor(SensorConfig{Answers: map[string]Responder{
		"os_packages": func(s *Sensor, cmd Command) []Event {
			gotCmd = cmd
			return []Event{
				{Type: "OS_PACKAGES_REP", Payload: map[string]any{"PACKAGES": []map[string]any{{"PACKAGE_NAME": "evil", "PACKAGE_VERSION": "6.6.6"}}}},
				Receipt(0, "done"),
			}
		},
	}})
	tests := []struct {
		name    string
		setup   func()
		line    string
		want    []string // event types after CLOUD_NOTIFICATION
		wantErr int      // rule-error activities expected
	}{
		{"configured answers", func() {}, `os_packages --all "x y"`, []string{"OS_PACKAGES_REP", "RECEIPT"}, 0},
		{"override a built-in", func() {
			s.Answer("os_version", func(*Sensor, Command) []Event { return []Event{{Type: "CUSTOM"}} })
		}, "os_version", []string{"CUSTOM"}, 0},
		{"restore the built-in", func() { s.Answer("os_version", nil) }, "os_version", []string{"OS_VERSION_REP"}, 0},
		{"a sensor that never answers", func() {
			s.Answer("netstat", func(*Sensor, Command) []Event { return nil })
		}, "netstat", nil, 0},
		{"a panicking responder", func() {
			s.Answer("netstat", func(*Sensor, Command) []Event { panic("boom") })
		}, "netstat", []string{"RECEIPT"}, 0},
		{"events without type or with bad payloads are dropped", func() {
			s.Answer("netstat", func(*Sensor, Command) []Event {
				return []Event{{}, {Type: "X", Payload: map[string]any{"c": make(chan int)}}, {Type: "OK"}}
			})
		}, "netstat", []string{"OK"}, 2},
		{"unknown command", func() {}, "no_such_command", []string{"RECEIPT"}, 0},
		{"unparsable line", func() {}, `file_get "C:\x`, []string{"RECEIPT"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.reset()
			tt.setup()
			a.task(org, s.SID, "inv", tt.line)
			waitIdle(t, c)
			events := rec.events(t)
			want := append([]string{"CLOUD_NOTIFICATION"}, tt.want...)
			if got := typesOf(events); !slices.Equal(got, want) {
				t.Fatalf("events = %v, want %v", got, want)
			}
			for _, e := range events {
				if e.Routing.InvestigationID != "inv" {
					t.Errorf("%s lost the investigation_id", e.Routing.EventType)
				}
			}
			if last := events[len(events)-1]; last.Routing.EventType == "RECEIPT" && tt.name != "configured answers" {
				if code, _ := last.Event["ERROR"].(float64); code == 0 || last.Event["ERROR_MESSAGE"] == "" {
					t.Errorf("failure RECEIPT = %v, want a non-zero ERROR and a message", last.Event)
				}
			}
			if got := len(rec.kind(ActivityRuleError)); got != tt.wantErr {
				t.Errorf("%d dropped-event activities, want %d", got, tt.wantErr)
			}
		})
	}
	if gotCmd.Name != "os_packages" || !slices.Equal(gotCmd.Args, []string{"--all", "x y"}) {
		t.Errorf("the responder got %+v", gotCmd)
	}
}

func TestMultiEventAnswers(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "desk-7", Platform: Windows})
	tests := []struct {
		line string
		want []string
	}{
		{"history_dump", []string{"CLOUD_NOTIFICATION", "HISTORY_DUMP_REP", "NEW_PROCESS", "NEW_PROCESS", "DNS_REQUEST", "NEW_TCP4_CONNECTION"}},
		{"yara_scan hive://yara/malware", []string{"CLOUD_NOTIFICATION", "YARA_DETECTION", "YARA_DETECTION", "RECEIPT"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			rec.reset()
			a.task(org, s.SID, "svc-svc-ex/multi", tt.line)
			waitIdle(t, c)
			events := rec.events(t)
			if got := typesOf(events); !slices.Equal(got, tt.want) {
				t.Fatalf("events = %v, want %v", got, tt.want)
			}
			for _, e := range events {
				if e.Routing.InvestigationID != "svc-svc-ex/multi" {
					t.Errorf("%s lost the investigation_id", e.Routing.EventType)
				}
			}
		})
	}
}

func TestLatencyAndWaitIdle(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	const latency = 150 * time.Millisecond
	s := org.AddSensor(SensorConfig{Latency: latency})
	if s.Latency() != latency {
		t.Fatalf("Latency() = %v", s.Latency())
	}
	start := time.Now()
	a.task(org, s.SID, "", "os_version")
	waitIdle(t, c)
	events := rec.events(t)
	if len(events) != 2 {
		t.Fatalf("after WaitIdle: %d events, want 2", len(events))
	}
	for _, e := range events {
		if e.Time().Before(start.Add(latency).Truncate(time.Millisecond)) {
			t.Errorf("%s at %v, before the latency (%v after %v)", e.Routing.EventType, e.Time(), latency, start)
		}
	}

	// A task that is still waiting keeps the cloud busy until ctx ends…
	s.SetLatency(time.Hour)
	a.task(org, s.SID, "", "os_version")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle with a pending task = %v, want DeadlineExceeded", err)
	}
	// …or until Close drops it.
	c.Close()
	waitIdle(t, c)
	if n := len(rec.events(t)); n != 2 {
		t.Fatalf("the dropped task emitted events: %d in all, want 2", n)
	}
}

func TestFailNextTask(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	c.FailNext(CallTask, 2, Fault{Status: http.StatusTooManyRequests, Header: http.Header{"X-Ratelimit-Period": {"60"}, "X-Ratelimit-Quota": {"100"}}})
	for i, want := range []int{429, 429, 200} {
		status, h, body := a.do(org.JWT, http.MethodPost, "/v1/"+s.SID, url.Values{"tasks": {"os_version"}}, nil)
		if status != want {
			t.Fatalf("call %d: HTTP %d, want %d", i, status, want)
		}
		if want == 429 {
			var e map[string]string
			if h.Get("X-RateLimit-Period") != "60" || json.Unmarshal(body, &e) != nil || e["error"] == "" {
				t.Errorf("call %d: headers %v body %s", i, h, body)
			}
		}
	}
	if n := len(org.Tasks()); n != 1 {
		t.Fatalf("%d tasks recorded, want only the one that succeeded", n)
	}
	// Failures apply after authentication: a bad JWT is still 401.
	c.FailNext(CallTask, 1, Fault{Status: 500})
	if status, _, _ := a.do("bad", http.MethodPost, "/v1/"+s.SID, url.Values{"tasks": {"os_version"}}, nil); status != 401 {
		t.Fatalf("HTTP %d, want 401", status)
	}
	if status, _, _ := a.do(org.JWT, http.MethodPost, "/v1/"+s.SID, url.Values{"tasks": {"os_version"}}, nil); status != 500 {
		t.Fatalf("HTTP %d, want the injected 500", status)
	}
}
