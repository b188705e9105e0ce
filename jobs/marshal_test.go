package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

const goldenID = "0b9f3c1e-5a7d-4e2b-9c61-2f8d4a6b7e10"

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, clock func() time.Time) *Job
	}{
		{"new_every_attachment", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, true, clock)
			j.SetCause("suspicious process on web-1")
			j.AddSensor("a1b2c3d4-0000-4000-8000-000000000001")
			j.AddSensor("a1b2c3d4-0000-4000-8000-000000000002")
			table := NewTable("processes", "pid", "path", "signed")
			table.AddRow(4242, `C:\Windows\evil.exe`, false)
			table.AddRow(1, "/sbin/init", nil)
			js, err := JSON("verdict", map[string]any{"score": 87, "tags": []string{"lolbin"}})
			if err != nil {
				t.Fatal(err)
			}
			j.Narrate("collected evidence", true,
				HexDump("header", []byte{0x4d, 0x5a, 0x90, 0x00, 0xff}),
				table,
				YAML("rule", "detect:\n  op: is\n  path: event/FILE_PATH\n"),
				js)
			j.Narrate("waiting for the analyst", false)
			return j
		}},
		{"reopened_update", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, false, clock)
			j.Narrate("sensor answered: 12 packages", false, YAML("summary", "count: 12\n"))
			return j
		}},
		{"closed", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, true, clock)
			j.SetCause("nightly sweep")
			j.Narrate("nothing found", false)
			j.Close()
			return j
		}},
		{"reopened_closed", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, false, clock)
			j.Close()
			return j
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.build(t, newStepClock(testEpoch, 1500*time.Millisecond).Now)
			got, err := json.MarshalIndent(j, "", "  ")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
			}
			var w Wire
			if err := json.Unmarshal(got, &w); err != nil {
				t.Fatalf("golden output does not decode as Wire: %v", err)
			}
			if w.ID != goldenID || len(w.Hist) != len(j.Entries()) {
				t.Errorf("decoded id %q with %d entries, want %q with %d", w.ID, len(w.Hist), goldenID, len(j.Entries()))
			}
		})
	}
}

// TestMarshalShape checks the fields present on each kind of job, beyond
// what the golden files show.
func TestMarshalShape(t *testing.T) {
	start := testEpoch
	clock := func() time.Time { return start }
	tests := []struct {
		name string
		job  func() *Job
		want string
	}{
		{"new job keeps empty lists", func() *Job {
			j := newJob("n1", true, clock)
			j.SetCause("c")
			return j
		}, `{"id":"n1","start":1700000000123,"cause":"c","sid":[],"hist":[]}`},
		{"bare update is only the id", func() *Job {
			return newJob("u1", false, clock)
		}, `{"id":"u1"}`},
		{"update carries cause and sensors when set", func() *Job {
			j := newJob("u2", false, clock)
			j.SetCause("escalated")
			j.AddSensor("s1")
			return j
		}, `{"id":"u2","cause":"escalated","sid":["s1"]}`},
		{"entry without attachments has an empty list", func() *Job {
			j := newJob("u3", false, clock)
			j.Narrate("m", true)
			return j
		}, `{"id":"u3","hist":[{"ts":1700000000123,"msg":"m","attachments":[],"is_important":true}]}`},
		{"closed update has end", func() *Job {
			j := newJob("u4", false, clock)
			j.Close()
			return j
		}, `{"id":"u4","end":1700000000123}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.job())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTimestampsAreMilliseconds(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want int64
	}{
		{"milliseconds kept", time.Unix(1700000000, 999_999_999), 1700000000999},
		{"sub-millisecond dropped", time.Unix(1700000000, 1_000_001), 1700000000001},
		{"whole second", time.Unix(1700000000, 0), 1700000000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob("id", true, func() time.Time { return tt.at })
			j.SetCause("c")
			j.Narrate("m", false)
			j.Close()
			b, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			var w Wire
			if err := json.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			if w.Start != tt.want || w.End != tt.want || w.Hist[0].TS != tt.want {
				t.Errorf("start %d end %d ts %d, want all %d", w.Start, w.End, w.Hist[0].TS, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		job     func() *Job
		wantErr string // "" for valid
	}{
		{"new without cause", func() *Job { return newJob("job-7", true, time.Now) }, "new job job-7 has no cause"},
		{"new with blank cause", func() *Job {
			j := newJob("job-8", true, time.Now)
			j.SetCause("  \t")
			return j
		}, "new job job-8 has no cause"},
		{"new with cause", func() *Job {
			j := New()
			j.SetCause("c")
			return j
		}, ""},
		{"reopened without cause", func() *Job { return Reopen("job-9") }, ""},
		{"reopened without id", func() *Job { return Reopen("") }, "job has no ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.job()
			verr := j.Validate()
			b, merr := json.Marshal(j)
			if tt.wantErr == "" {
				if verr != nil || merr != nil {
					t.Fatalf("Validate = %v, Marshal = %v; want both nil", verr, merr)
				}
				return
			}
			if verr == nil || !strings.Contains(verr.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want error containing %q", verr, tt.wantErr)
			}
			if merr == nil || !strings.Contains(merr.Error(), tt.wantErr) {
				t.Errorf("Marshal = %s, %v; want error containing %q", b, merr, tt.wantErr)
			}
		})
	}
}

func TestNoCauseErrorIsTyped(t *testing.T) {
	j := New()
	var nc *NoCauseError
	if err := j.Validate(); !errors.As(err, &nc) || nc.ID != j.ID() {
		t.Fatalf("Validate = %v, want *NoCauseError for %s", err, j.ID())
	}
	if err := Reopen("").Validate(); !errors.Is(err, ErrNoID) {
		t.Fatalf("Validate = %v, want ErrNoID", err)
	}
}

// badAttachment fails to marshal, as a user-written attachment might.
type badAttachment struct{}

func (badAttachment) AttachmentType() string       { return "bad" }
func (badAttachment) MarshalJSON() ([]byte, error) { return nil, errors.New("broken on purpose") }

func TestMarshalAttachmentErrors(t *testing.T) {
	tests := []struct {
		name    string
		atts    []Attachment
		wantErr string
	}{
		{"failing attachment", []Attachment{YAML("ok", "a: 1"), badAttachment{}}, `entry 0 ("m"): attachment 1 (bad): broken on purpose`},
		{"cell that is not JSON", []Attachment{tableWithRow(make(chan int))}, `table "t" row 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Reopen("job-1")
			j.Narrate("m", false, tt.atts...)
			_, err := json.Marshal(j)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Marshal error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEntryMarshalNilAttachment(t *testing.T) {
	var nilTable *Table
	for _, a := range []Attachment{nil, nilTable} {
		e := Entry{Time: testEpoch, Message: "m", Attachments: []Attachment{a}}
		if _, err := e.MarshalJSON(); err == nil || !strings.Contains(err.Error(), "attachment 0 is nil") {
			t.Errorf("MarshalJSON with %#v = %v, want nil-attachment error", a, err)
		}
	}
}

func tableWithRow(cells ...any) *Table {
	t := NewTable("t", "c")
	t.AddRow(cells...)
	return t
}
