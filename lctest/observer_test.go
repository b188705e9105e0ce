package lctest

import (
	"encoding/json"
	"testing"
)

func TestObserverSeesTheWholeFlow(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{})
	f := &fakeService{subs: []string{"__svc-svc-ex"}}
	svc := register(t, c, f)
	installWithRule(t, a, svc, org)
	a.task(org, s.SID, "svc-svc-ex/o", "os_version")
	waitIdle(t, c)

	want := map[ActivityKind]int{
		ActivityTask:      1,
		ActivityEvent:     2,
		ActivityDetection: 1,
		ActivityWebhook:   3, // health, org_install, detection
		ActivityResponse:  3,
	}
	for kind, n := range want {
		if got := rec.kind(kind); len(got) != n {
			t.Errorf("%d %s activities, want %d", len(got), kind, n)
		}
	}
	d := rec.kind(ActivityDetection)[0]
	if d.What != "__svc-svc-ex" || d.OID != org.OID || d.SID != s.SID || d.InvestigationID != "svc-svc-ex/o" || !json.Valid(d.Body) {
		t.Errorf("detection activity = %+v", d)
	}
	wh := rec.kind(ActivityWebhook)[2]
	if wh.What != "detection" || wh.Service != "svc" || wh.MID == "" || wh.Attempt != 1 {
		t.Errorf("webhook activity = %+v", wh)
	}
	for _, a := range rec.snapshot() {
		if a.Time.IsZero() || a.Kind.String() == "ActivityKind(?)" {
			t.Errorf("activity without time or kind name: %+v", a)
		}
	}
}

func TestEmit(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	s := org.AddSensor(SensorConfig{Hostname: "web-1"})
	f := &fakeService{subs: []string{"new-exe"}}
	svc := register(t, c, f)
	if _, err := svc.Install(testContext(t), org); err != nil {
		t.Fatal(err)
	}
	if err := org.SetRule(StoredRule{Name: "new-exe", Enabled: true,
		Detect:  json.RawMessage(`{"event":"NEW_PROCESS","op":"ends with","path":"event/FILE_PATH","value":".exe","case sensitive":false}`),
		Respond: json.RawMessage(`[{"action":"report","name":"new-exe"}]`)}); err != nil {
		t.Fatal(err)
	}
	err := s.Emit(testContext(t),
		Event{Type: "NEW_PROCESS", Payload: map[string]any{"FILE_PATH": `C:\x\EVIL.EXE`}},
		Event{Type: "NEW_PROCESS", Payload: map[string]any{"FILE_PATH": `C:\x\notes.txt`}},
		Event{Type: "DNS_REQUEST", Payload: map[string]any{"FILE_PATH": `a.exe`}},
	)
	if err != nil {
		t.Fatal(err)
	}
	ds := svc.Detections()
	if len(ds) != 1 || ds[0].Detect["FILE_PATH"] != `C:\x\EVIL.EXE` || ds[0].Routing.InvestigationID != "" {
		t.Fatalf("detections = %+v", ds)
	}
}
