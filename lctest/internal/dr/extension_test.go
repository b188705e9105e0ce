package dr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExtensionRequestTransform(t *testing.T) {
	reps, exts, err := compileRespond(json.RawMessage(`[{"action":"extension request","extension name":"ext","extension action":"act",
		"extension request":{"event":"event","routing":"routing","sid":"routing.sid","sid2":"{{ .routing.sid }}",
		"path":"event.PROCESSES.1.FILE_PATH","count":"{{.event.COUNT}} processes","whole":"@this","ev":"{{ json .event.COUNT }}","none":"event.NOPE"}}]`))
	if err != nil || len(reps) != 0 || len(exts) != 1 {
		t.Fatalf("compile: %v %v %v", reps, exts, err)
	}
	doc, _ := Decode([]byte(sampleEvent))
	got := exts[0].Build(doc)
	b, _ := json.Marshal(got)
	for _, want := range []string{`"sid2":""`, `"path":"C:\\Users\\bob\\Downloads\\invoice.exe"`, `"count":"2 processes"`, `"ev":"2"`, `"routing":{"event_type":"OS_PROCESSES_REP"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("built %s, want it to contain %s", b, want)
		}
	}
	if _, ok := got["none"]; ok {
		t.Errorf("a selector leading nowhere was kept: %s", b)
	}
	if _, ok := got["whole"].(map[string]any)["event"]; !ok {
		t.Errorf("@this did not select the root: %s", b)
	}
	if exts[0].Extension != "ext" || exts[0].Action != "act" {
		t.Errorf("ext = %+v", exts[0])
	}
	for _, bad := range []string{
		`[{"action":"extension request","extension action":"a"}]`,
		`[{"action":"extension request","extension name":"e","extension action":"a","extension request":{"x":1}}]`,
		`[{"action":"extension request","extension name":"e","extension action":"a","extension request":{"x":"{{ .a"}}]`,
		`[{"action":"extension request","extension name":"e","extension action":"a","extension request":{"x":"{{ index . 1 }}"}}]`,
	} {
		if _, _, err := compileRespond(json.RawMessage(bad)); err == nil {
			t.Errorf("compileRespond(%s) succeeded", bad)
		}
	}
}

func TestTargets(t *testing.T) {
	s := NewStore()
	s.Put(Rule{Name: "sched", Enabled: true, Detect: json.RawMessage(`{"target":"schedule","event":"12h_per_org","op":"exists","path":"event"}`),
		Respond: json.RawMessage(`[{"action":"extension request","extension name":"e","extension action":"tick"}]`)})
	s.Put(Rule{Name: "det", Enabled: true, Detect: json.RawMessage(`{"target":"detection","op":"is","path":"cat","value":"bad"}`),
		Respond: json.RawMessage(`[{"action":"extension request","extension name":"e","extension action":"det","extension request":{"cat":"cat"}}]`)})
	if r := s.Put(Rule{Name: "x", Detect: json.RawMessage(`{"target":"cloud","op":"exists","path":"a"}`), Respond: json.RawMessage(`[]`)}); r.Err == nil {
		t.Error("an unknown target was accepted")
	}
	sched, _ := Decode([]byte(`{"routing":{"event_type":"12h_per_org"},"event":{}}`))
	if m := s.Evaluate(sched); len(m) != 0 {
		t.Errorf("a schedule rule ran on the edr target: %+v", m)
	}
	if m := s.EvaluateTarget(TargetSchedule, sched); len(m) != 1 || m[0].Extensions[0].Action != "tick" {
		t.Errorf("schedule: %+v", m)
	}
	other, _ := Decode([]byte(`{"routing":{"event_type":"1h_per_org"},"event":{}}`))
	if m := s.EvaluateTarget(TargetSchedule, other); len(m) != 0 {
		t.Errorf("12h rule ran on 1h: %+v", m)
	}
	det, _ := Decode([]byte(`{"cat":"bad","routing":{}}`))
	m := s.EvaluateTarget(TargetDetection, det)
	if len(m) != 1 || m[0].Extensions[0].Build(det)["cat"] != "bad" {
		t.Errorf("detection: %+v", m)
	}
}
