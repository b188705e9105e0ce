package jobs

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNewAndReopen(t *testing.T) {
	before := time.Now()
	n := New()
	after := time.Now()
	if _, err := uuid.Parse(n.ID()); err != nil {
		t.Errorf("New().ID() = %q, not a UUID: %v", n.ID(), err)
	}
	if !n.IsNew() || n.IsClosed() {
		t.Errorf("New(): IsNew %v IsClosed %v, want true false", n.IsNew(), n.IsClosed())
	}
	if s := n.Start(); s.Before(before) || s.After(after) {
		t.Errorf("New().Start() = %v, want between %v and %v", s, before, after)
	}
	if New().ID() == n.ID() {
		t.Error("two New jobs share an ID")
	}

	if n.Cause() != "" {
		t.Errorf("New().Cause() = %q, want empty", n.Cause())
	}
	n.SetCause("first")
	n.SetCause("second")
	if n.Cause() != "second" {
		t.Errorf("Cause() = %q after two SetCause calls, want the last", n.Cause())
	}

	r := Reopen("job-42")
	if r.ID() != "job-42" || r.IsNew() || r.IsClosed() || !r.Start().IsZero() {
		t.Errorf("Reopen: ID %q IsNew %v IsClosed %v Start %v; want job-42 false false zero", r.ID(), r.IsNew(), r.IsClosed(), r.Start())
	}
}

func TestAddSensor(t *testing.T) {
	tests := []struct {
		name string
		add  []string
		want []string
	}{
		{"none", nil, nil},
		{"order kept", []string{"s2", "s1", "s3"}, []string{"s2", "s1", "s3"}},
		{"repeats dropped", []string{"s1", "s2", "s1", "s2", "s3"}, []string{"s1", "s2", "s3"}},
		{"empty ignored", []string{"", "s1", ""}, []string{"s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Reopen("j")
			for _, s := range tt.add {
				j.AddSensor(s)
			}
			if got := j.Sensors(); !slices.Equal(got, tt.want) {
				t.Errorf("Sensors() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCloseFirstWins(t *testing.T) {
	clock := newStepClock(testEpoch, time.Second)
	j := newJob("j", true, clock.Now) // start reads the clock once
	if !j.End().IsZero() {
		t.Fatalf("End() of an open job = %v, want zero", j.End())
	}
	j.Close()
	first := j.End()
	j.Close()
	j.Close()
	if !j.IsClosed() {
		t.Fatal("IsClosed() = false after Close")
	}
	if want := testEpoch.Add(time.Second); !first.Equal(want) || !j.End().Equal(want) {
		t.Errorf("End() = %v after first close, %v after more; want %v both times", first, j.End(), want)
	}
}

func TestNarrate(t *testing.T) {
	var nilTable *Table
	table := NewTable("t", "a")
	tests := []struct {
		name      string
		important bool
		atts      []Attachment
		wantAtts  []string // attachment types kept
	}{
		{"no attachments", false, nil, nil},
		{"important", true, nil, nil},
		{"kinds in order", false, []Attachment{YAML("y", "a: 1"), table, HexDump("h", nil)}, []string{TypeYAML, TypeTable, TypeHexDump}},
		{"nils skipped", false, []Attachment{nil, table, nilTable}, []string{TypeTable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob("j", false, func() time.Time { return testEpoch })
			j.Narrate("msg", tt.important, tt.atts...)
			es := j.Entries()
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1", len(es))
			}
			e := es[0]
			if e.Message != "msg" || e.Important != tt.important || !e.Time.Equal(testEpoch) {
				t.Errorf("entry = %+v, want msg, important=%v, time %v", e, tt.important, testEpoch)
			}
			var types []string
			for _, a := range e.Attachments {
				types = append(types, a.AttachmentType())
			}
			if !slices.Equal(types, tt.wantAtts) {
				t.Errorf("attachment types %q, want %q", types, tt.wantAtts)
			}
		})
	}
}

func TestHistoryKeepsCallOrder(t *testing.T) {
	j := newJob("j", false, newStepClock(testEpoch, time.Millisecond).Now)
	for i := range 5 {
		j.Narrate(fmt.Sprint(i), false)
	}
	for i, e := range j.Entries() {
		if e.Message != fmt.Sprint(i) || !e.Time.Equal(testEpoch.Add(time.Duration(i)*time.Millisecond)) {
			t.Errorf("entry %d = %q at %v, want %q at +%dms", i, e.Message, e.Time, fmt.Sprint(i), i)
		}
	}
}

func TestEntriesIsACopy(t *testing.T) {
	j := Reopen("j")
	j.Narrate("original", false, YAML("y", "a: 1"))
	es := j.Entries()
	es[0].Message = "changed"
	es[0].Attachments[0] = nil
	got := j.Entries()[0]
	if got.Message != "original" || got.Attachments[0] == nil {
		t.Errorf("changing the result of Entries changed the job: %+v", got)
	}
}

// TestConcurrentUse runs every mutator from many goroutines while the job is
// marshalled; run it with -race.
func TestConcurrentUse(t *testing.T) {
	const n = 50
	clock := newStepClock(testEpoch, time.Millisecond)
	j := newJob("j", true, clock.Now)
	j.SetCause("load")
	table := NewTable("t", "i")
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			table.AddRow(i)
			j.Narrate(fmt.Sprint(i), i%2 == 0, table)
			j.AddSensor(fmt.Sprint("s", i%7))
			if i%10 == 0 {
				j.Close()
			}
			if _, err := json.Marshal(j); err != nil {
				t.Errorf("marshal while in use: %v", err)
			}
		}()
	}
	wg.Wait()

	es := j.Entries()
	if len(es) != n {
		t.Fatalf("%d entries, want %d", len(es), n)
	}
	seen := make(map[string]bool)
	for i, e := range es {
		seen[e.Message] = true
		if i > 0 && !e.Time.After(es[i-1].Time) {
			t.Errorf("entry %d at %v is not after entry %d at %v: times do not follow history order", i, e.Time, i-1, es[i-1].Time)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
	if got := len(j.Sensors()); got != 7 {
		t.Errorf("%d sensors, want 7", got)
	}
	if table.Len() != n || !j.IsClosed() {
		t.Errorf("table has %d rows, closed=%v; want %d, true", table.Len(), j.IsClosed(), n)
	}
	var w Wire
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Hist) != n {
		t.Errorf("wire hist has %d entries, want %d", len(w.Hist), n)
	}
}
