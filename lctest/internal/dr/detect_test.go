package dr

import (
	"encoding/json"
	"strings"
	"testing"
)

// sampleEvent is an event as the evaluator sees it.
const sampleEvent = `{
	"routing": {"event_type": "OS_PROCESSES_REP", "investigation_id": "svc-a-ex/tok", "plat": 268435456, "tags": ["prod", "web"]},
	"event": {
		"PROCESSES": [
			{"PROCESS_ID": 4, "FILE_PATH": "C:\\Windows\\System32\\smss.exe"},
			{"PROCESS_ID": 812, "FILE_PATH": "C:\\Users\\bob\\Downloads\\invoice.exe", "SIGNED": false}
		],
		"COUNT": 2,
		"NOTE": null
	}
}`

func TestEvaluator(t *testing.T) {
	doc, err := Decode([]byte(sampleEvent))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		detect string
		want   bool
	}{
		{"is", `{"op":"is","path":"routing/event_type","value":"OS_PROCESSES_REP"}`, true},
		{"is other", `{"op":"is","path":"routing/event_type","value":"RECEIPT"}`, false},
		{"is is case sensitive", `{"op":"is","path":"routing/event_type","value":"os_processes_rep"}`, false},
		{"is case insensitive", `{"op":"is","path":"routing/event_type","value":"os_processes_rep","case sensitive":false}`, true},
		{"is number", `{"op":"is","path":"event/COUNT","value":2}`, true},
		{"is number as float", `{"op":"is","path":"event/COUNT","value":2.0}`, true},
		{"is number as string", `{"op":"is","path":"event/COUNT","value":"2"}`, true},
		{"is bool", `{"op":"is","path":"event/PROCESSES/?/SIGNED","value":false}`, true},
		{"is not", `{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}`, true},
		{"is not, matching", `{"op":"is","not":true,"path":"routing/event_type","value":"OS_PROCESSES_REP"}`, false},
		{"starts with", `{"op":"starts with","path":"routing/investigation_id","value":"svc-a-ex/"}`, true},
		{"starts with, other service", `{"op":"starts with","path":"routing/investigation_id","value":"svc-a-ex2/"}`, false},
		{"starts with case", `{"op":"starts with","path":"routing/investigation_id","value":"SVC-A","case sensitive":false}`, true},
		{"ends with", `{"op":"ends with","path":"event/PROCESSES/?/FILE_PATH","value":"invoice.exe"}`, true},
		{"ends with case sensitive", `{"op":"ends with","path":"event/PROCESSES/?/FILE_PATH","value":"INVOICE.EXE"}`, false},
		{"ends with case insensitive", `{"op":"ends with","path":"event/PROCESSES/?/FILE_PATH","value":"INVOICE.EXE","case sensitive":false}`, true},
		{"contains", `{"op":"contains","path":"event/PROCESSES/?/FILE_PATH","value":"\\Downloads\\"}`, true},
		{"contains not", `{"op":"contains","not":true,"path":"event/PROCESSES/?/FILE_PATH","value":"\\Downloads\\"}`, false},
		{"list element by index", `{"op":"is","path":"event/PROCESSES/0/PROCESS_ID","value":4}`, true},
		{"list index out of range", `{"op":"exists","path":"event/PROCESSES/5"}`, false},
		{"? over tags", `{"op":"is","path":"routing/tags/?","value":"web"}`, true},
		{"exists", `{"op":"exists","path":"event/COUNT"}`, true},
		{"exists missing", `{"op":"exists","path":"event/NOPE"}`, false},
		{"exists null", `{"op":"exists","path":"event/NOTE"}`, false},
		{"exists not", `{"op":"exists","not":true,"path":"event/NOPE"}`, true},
		{"exists under ?", `{"op":"exists","path":"event/PROCESSES/?/SIGNED"}`, true},
		{"path with leading slash", `{"op":"is","path":"/routing/event_type","value":"OS_PROCESSES_REP"}`, true},
		{"path through a scalar", `{"op":"exists","path":"event/COUNT/x"}`, false},
		{"matches re", `{"op":"matches","path":"event/PROCESSES/?/FILE_PATH","re":"(?i)\\\\users\\\\[^\\\\]+\\\\downloads\\\\"}`, true},
		{"matches value", `{"op":"matches","path":"routing/investigation_id","value":"^svc-[a-z]+-ex/"}`, true},
		{"matches case insensitive", `{"op":"matches","path":"routing/event_type","re":"^os_","case sensitive":false}`, true},
		{"matches case sensitive", `{"op":"matches","path":"routing/event_type","re":"^os_"}`, false},
		{"matches number", `{"op":"matches","path":"event/COUNT","re":"^[0-9]+$"}`, true},
		{"and", `{"op":"and","rules":[{"op":"exists","path":"event/COUNT"},{"op":"is","path":"event/COUNT","value":2}]}`, true},
		{"and one false", `{"op":"and","rules":[{"op":"exists","path":"event/COUNT"},{"op":"is","path":"event/COUNT","value":3}]}`, false},
		{"or", `{"op":"or","rules":[{"op":"is","path":"event/COUNT","value":3},{"op":"is","path":"event/COUNT","value":2}]}`, true},
		{"or none", `{"op":"or","rules":[{"op":"is","path":"event/COUNT","value":3},{"op":"exists","path":"x"}]}`, false},
		{"not and", `{"op":"and","not":true,"rules":[{"op":"exists","path":"event/COUNT"}]}`, false},
		{"nested", `{"op":"or","rules":[{"op":"exists","path":"x"},{"op":"and","rules":[{"op":"contains","path":"routing/investigation_id","value":"/tok"}]}]}`, true},
		{"event filter", `{"event":"OS_PROCESSES_REP","op":"exists","path":"event/COUNT"}`, true},
		{"event filter other", `{"event":"NEW_PROCESS","op":"exists","path":"event/COUNT"}`, false},
		{"events filter", `{"events":["RECEIPT","OS_PROCESSES_REP"],"op":"exists","path":"event/COUNT"}`, true},
		{"the replicant rule", `{"op":"and","rules":[
			{"op":"starts with","path":"routing/investigation_id","value":"svc-svc-ex/"},
			{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}`, false}, // another service's id in the sample
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := compileDetect(json.RawMessage(tt.detect))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if got := m.match(doc); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluatorRefusesInvalidRules(t *testing.T) {
	tests := []struct {
		name, detect, wantErr string
	}{
		{"empty", ``, "missing"},
		{"not JSON", `{op:`, "not a JSON object"},
		{"null", `null`, "null"},
		{"list", `[]`, "not a JSON object"},
		{"no op", `{"path":"a","value":"b"}`, "op is missing"},
		{"unknown op", `{"op":"is greater than","path":"a","value":1}`, "unknown operator"},
		{"no path", `{"op":"is","value":"b"}`, "path is missing"},
		{"no value", `{"op":"is","path":"a"}`, "value is missing"},
		{"object value", `{"op":"contains","path":"a","value":{"x":1}}`, "value must be"},
		{"bad not", `{"op":"exists","path":"a","not":"yes"}`, `"not" must be`},
		{"bad case", `{"op":"is","path":"a","value":"b","case sensitive":"no"}`, `"case sensitive" must be`},
		{"bad regexp", `{"op":"matches","path":"a","re":"("}`, "bad regular expression"},
		{"no re", `{"op":"matches","path":"a"}`, "re (the regular expression) is missing"},
		{"and without rules", `{"op":"and"}`, "non-empty list"},
		{"or with empty rules", `{"op":"or","rules":[]}`, "non-empty list"},
		{"bad sub-rule", `{"op":"and","rules":[{"op":"exists","path":"a"},{"op":"nope"}]}`, "rules[1]"},
		{"sub-rule not an object", `{"op":"and","rules":["x"]}`, "rules[0] is not an object"},
		{"bad event", `{"event":7,"op":"exists","path":"a"}`, "event must be"},
		{"bad events", `{"events":"NEW_PROCESS","op":"exists","path":"a"}`, "events must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := compileDetect(json.RawMessage(tt.detect))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("compileDetect(%s) error = %v, want one containing %q", tt.detect, err, tt.wantErr)
			}
		})
	}
}

func TestCompileRespond(t *testing.T) {
	tests := []struct {
		name, respond string
		reports       int
		wantErr       string
	}{
		{"list", `[{"action":"report","name":"a"},{"action":"isolate network"},{"action":"report","name":"b","priority":3,"metadata":{"k":"v"}}]`, 2, ""},
		{"single object", `{"action":"report","name":"a"}`, 1, ""},
		{"only unknown actions", `[{"action":"add tag","tag":"x"}]`, 0, ""},
		{"report without name", `[{"action":"report"}]`, 0, "needs a name"},
		{"no action", `[{"name":"a"}]`, 0, "action is missing"},
		{"bad priority", `[{"action":"report","name":"a","priority":"high"}]`, 0, "priority must be"},
		{"bad metadata", `[{"action":"report","name":"a","metadata":[1]}]`, 0, "metadata must be"},
		{"string", `"report"`, 0, "must be a list"},
		{"missing", ``, 0, "missing"},
		{"item not object", `[1]`, 0, "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps, _, err := compileRespond(json.RawMessage(tt.respond))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) != tt.reports {
				t.Fatalf("%d reports, want %d", len(reps), tt.reports)
			}
		})
	}
	reps, _, err := compileRespond(json.RawMessage(`[{"action":"report","name":"b","priority":3,"metadata":{"k":"v"}}]`))
	if err != nil || reps[0].Priority != 3 || reps[0].Metadata["k"] != "v" {
		t.Fatalf("priority and metadata not kept: %+v, %v", reps, err)
	}
}
