package jobs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// decoded is JSON decoded into plain values, to compare two renderings of
// a job whatever their spacing and field order.
func decoded(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// roundTrip marshals j, decodes that into a new Job and marshals it again;
// it fails the test unless both renderings are the same JSON.
func roundTrip(t *testing.T, j *Job) *Job {
	t.Helper()
	first, err := json.Marshal(j)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back Job
	if err := json.Unmarshal(first, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", first, err)
	}
	second, err := json.Marshal(&back)
	if err != nil {
		t.Fatalf("Marshal of the decoded job: %v", err)
	}
	if !reflect.DeepEqual(decoded(t, first), decoded(t, second)) {
		t.Errorf("the decoded job marshals differently\nfirst:  %s\nsecond: %s", first, second)
	}
	return &back
}

func TestUnmarshalRoundTrip(t *testing.T) {
	every := func(t *testing.T) []Attachment {
		table := NewTable("processes", "pid", "path", "signed", "ratio")
		table.AddRow(4242, `C:\Windows\evil.exe`, false, 0.25)
		table.AddRow(1, "/sbin/init", nil, map[string]any{"nested": []int{1, 2}})
		js, err := JSON("verdict", map[string]any{"score": 87, "tags": []string{"lolbin"}, "html": "<b>&</b>"})
		if err != nil {
			t.Fatal(err)
		}
		return []Attachment{
			HexDump("header", []byte{0x4d, 0x5a, 0x90, 0x00, 0xff}),
			table,
			NewTable("empty", "nothing"),
			YAML("rule", "detect:\n  op: is\n  path: event/FILE_PATH\n"),
			js,
		}
	}
	tests := []struct {
		name  string
		build func(t *testing.T, clock func() time.Time) *Job
		check func(t *testing.T, orig, back *Job)
	}{
		{"new job with cause, sensors and every attachment", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, true, clock)
			j.SetCause("suspicious process on web-1")
			j.AddSensor("a1b2c3d4-0000-4000-8000-000000000001")
			j.AddSensor("a1b2c3d4-0000-4000-8000-000000000002")
			j.Narrate("collected evidence", true, every(t)...)
			j.Narrate("waiting for the analyst", false)
			return j
		}, func(t *testing.T, orig, back *Job) {
			var types []string
			for _, a := range back.Entries()[0].Attachments {
				types = append(types, a.AttachmentType())
			}
			if want := []string{TypeHexDump, TypeTable, TypeTable, TypeYAML, TypeJSON}; !slices.Equal(types, want) {
				t.Errorf("decoded attachment types %v, want %v", types, want)
			}
		}},
		{"new job, no sensors, no history", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob("n1", true, clock)
			j.SetCause("c")
			return j
		}, nil},
		{"closed new job", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, true, clock)
			j.SetCause("nightly sweep")
			j.Narrate("nothing found", false)
			j.Close()
			return j
		}, nil},
		{"update", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob(goldenID, false, clock)
			j.Narrate("sensor answered: 12 packages", false, YAML("summary", "count: 12\n"))
			j.Narrate("the table", true, every(t)...)
			return j
		}, nil},
		{"update with cause and sensors, closed", func(t *testing.T, clock func() time.Time) *Job {
			j := newJob("u2", false, clock)
			j.SetCause("escalated")
			j.AddSensor("s1")
			j.Narrate("done", true)
			j.Close()
			return j
		}, nil},
		{"bare update", func(t *testing.T, clock func() time.Time) *Job {
			return newJob("u1", false, clock)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.build(t, newStepClock(testEpoch, 1500*time.Millisecond).Now)
			back := roundTrip(t, orig)
			// What the accessors say survives too, to the millisecond.
			ms := func(tm time.Time) int64 {
				if tm.IsZero() {
					return 0
				}
				return tm.UnixMilli()
			}
			if back.ID() != orig.ID() || back.IsNew() != orig.IsNew() || back.IsClosed() != orig.IsClosed() ||
				back.Cause() != orig.Cause() || !slices.Equal(back.Sensors(), orig.Sensors()) ||
				ms(back.Start()) != ms(orig.Start()) || ms(back.End()) != ms(orig.End()) {
				t.Errorf("decoded id %q new %v closed %v cause %q sensors %v start %v end %v; want %q %v %v %q %v %v %v",
					back.ID(), back.IsNew(), back.IsClosed(), back.Cause(), back.Sensors(), back.Start(), back.End(),
					orig.ID(), orig.IsNew(), orig.IsClosed(), orig.Cause(), orig.Sensors(), orig.Start(), orig.End())
			}
			oe, be := orig.Entries(), back.Entries()
			if len(oe) != len(be) {
				t.Fatalf("%d entries decoded, want %d", len(be), len(oe))
			}
			for i := range oe {
				if be[i].Message != oe[i].Message || be[i].Important != oe[i].Important ||
					be[i].Time.UnixMilli() != oe[i].Time.UnixMilli() || len(be[i].Attachments) != len(oe[i].Attachments) {
					t.Errorf("entry %d decoded as %+v, want %+v", i, be[i], oe[i])
				}
				for k, a := range be[i].Attachments {
					if a.AttachmentType() != oe[i].Attachments[k].AttachmentType() {
						t.Errorf("entry %d attachment %d: type %q, want %q", i, k, a.AttachmentType(), oe[i].Attachments[k].AttachmentType())
					}
				}
			}
			if tt.check != nil {
				tt.check(t, orig, back)
			}
		})
	}
}

// The golden files, written by MarshalJSON, read back and marshal to
// themselves.
func TestUnmarshalGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var j Job
			if err := json.Unmarshal(want, &j); err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(&j, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if string(got)+"\n" != string(want) {
				t.Errorf("%s read back and marshalled:\n%s", path, got)
			}
		})
	}
}

// A decoded job is a Job like any other: entries narrated on it follow the
// decoded ones, and a slice of jobs decodes as a response carries it.
func TestUnmarshalThenNarrate(t *testing.T) {
	j := newJob("u9", false, newStepClock(testEpoch, time.Second).Now)
	j.Narrate("first", false)
	b, err := json.Marshal([]*Job{j})
	if err != nil {
		t.Fatal(err)
	}
	var back []*Job
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 {
		t.Fatalf("decoded %d jobs, want 1", len(back))
	}
	before := time.Now()
	back[0].Narrate("second", true, YAML("y", "a: 1\n"))
	back[0].Close()
	e := back[0].Entries()
	if len(e) != 2 || e[0].Message != "first" || e[1].Message != "second" || e[1].Time.Before(before) || !back[0].IsClosed() {
		t.Errorf("after Narrate on the decoded job: entries %+v, closed %v", e, back[0].IsClosed())
	}
	out, err := json.Marshal(back[0])
	if err != nil || !strings.Contains(string(out), `"msg":"second"`) || !strings.Contains(string(out), `"end":`) {
		t.Errorf("Marshal = %s, %v; want the new entry and the end", out, err)
	}

	// Decoding replaces what the job held.
	if err := json.Unmarshal([]byte(`{"id":"other"}`), back[0]); err != nil {
		t.Fatal(err)
	}
	if back[0].ID() != "other" || len(back[0].Entries()) != 0 || back[0].IsClosed() || back[0].IsNew() {
		t.Errorf("after decoding a bare update over it: id %q, %d entries, closed %v, new %v", back[0].ID(), len(back[0].Entries()), back[0].IsClosed(), back[0].IsNew())
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not an object", `[1]`, "decoding a job"},
		{"no id", `{"cause":"c"}`, "has no id"},
		{"empty id", `{"id":""}`, "has no id"},
		{"id not a string", `{"id":7}`, "decoding a job"},
		{"hist not a list", `{"id":"j","hist":{}}`, "decoding a job"},
		{"attachment without att_type", `{"id":"j","hist":[{"ts":1,"msg":"m","attachments":[{"caption":"c"}]}]}`, `entry 0 ("m"): attachment 0: no att_type`},
		{"null attachment", `{"id":"j","hist":[{"ts":1,"msg":"m","attachments":[null]}]}`, "attachment 0: no att_type"},
		{"attachment not an object", `{"id":"j","hist":[{"ts":1,"msg":"m","attachments":[{"att_type":"yaml"},"text"]}]}`, "attachment 1: not an attachment object"},
		{"att_type not a string", `{"id":"j","hist":[{"ts":1,"msg":"m","attachments":[{"att_type":3}]}]}`, "attachment 0: not an attachment object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Job
			err := json.Unmarshal([]byte(tt.in), &j)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal(%s) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}
