package jobs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	e := func(ts int64, msg string) WireEntry { return WireEntry{TS: ts, Msg: msg} }
	tests := []struct {
		name    string
		acc     Wire
		updates []Wire
		want    Wire
	}{
		{
			name:    "into empty takes everything",
			updates: []Wire{{ID: "j", Start: 10, Cause: "c", Sensors: []string{"s1"}, Hist: []WireEntry{e(11, "a")}}},
			want:    Wire{ID: "j", Start: 10, Cause: "c", Sensors: []string{"s1"}, Hist: []WireEntry{e(11, "a")}},
		},
		{
			name: "updates append history in order and close",
			acc:  Wire{ID: "j", Start: 10, Cause: "c", Sensors: []string{"s1"}, Hist: []WireEntry{e(11, "a")}},
			updates: []Wire{
				{ID: "j", Hist: []WireEntry{e(20, "b"), e(21, "c")}},
				{ID: "j", Hist: []WireEntry{e(30, "d")}, End: 31},
			},
			want: Wire{ID: "j", Start: 10, Cause: "c", Sensors: []string{"s1"}, Hist: []WireEntry{e(11, "a"), e(20, "b"), e(21, "c"), e(30, "d")}, End: 31},
		},
		{
			name:    "bare update changes nothing",
			acc:     Wire{ID: "j", Start: 10, Cause: "c", End: 15},
			updates: []Wire{{ID: "j"}},
			want:    Wire{ID: "j", Start: 10, Cause: "c", End: 15},
		},
		{
			name:    "sensors are a union in first-seen order",
			acc:     Wire{ID: "j", Sensors: []string{"s1", "s2"}},
			updates: []Wire{{ID: "j", Sensors: []string{"s2", "s3", "s1", "s4"}}},
			want:    Wire{ID: "j", Sensors: []string{"s1", "s2", "s3", "s4"}},
		},
		{
			name:    "cause and end replaced when sent",
			acc:     Wire{ID: "j", Start: 10, Cause: "old", End: 15},
			updates: []Wire{{ID: "j", Cause: "new", End: 40}},
			want:    Wire{ID: "j", Start: 10, Cause: "new", End: 40},
		},
		{
			name:    "start filled, history in time order, when a new job arrives after an update",
			acc:     Wire{ID: "j", Hist: []WireEntry{e(20, "b")}},
			updates: []Wire{{ID: "j", Start: 10, Cause: "c", Hist: []WireEntry{e(11, "a")}}},
			want:    Wire{ID: "j", Start: 10, Cause: "c", Hist: []WireEntry{e(11, "a"), e(20, "b")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.acc
			for _, u := range tt.updates {
				got.Merge(u)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMergeDoesNotAliasUpdate(t *testing.T) {
	u := Wire{ID: "j", Sensors: []string{"s1"}, Hist: []WireEntry{{TS: 1, Msg: "a"}}}
	var acc Wire
	acc.Merge(u)
	u.Sensors[0] = "changed"
	u.Hist[0].Msg = "changed"
	if acc.Sensors[0] != "s1" || acc.Hist[0].Msg != "a" {
		t.Errorf("merged job shares memory with the update: %+v", acc)
	}
}

// TestJobRoundTrip sends a new job and two updates the way a service would,
// and checks the merged result is the whole story.
func TestJobRoundTrip(t *testing.T) {
	clock := newStepClock(testEpoch, time.Second)
	first := newJob("j", true, clock.Now)
	first.SetCause("investigate")
	first.AddSensor("s1")
	first.Narrate("tasked sensor", false)

	second := newJob("j", false, clock.Now)
	second.AddSensor("s2")
	second.Narrate("sensor answered", true, tableWithRow("pkg"))

	third := newJob("j", false, clock.Now)
	third.Close()

	var acc Wire
	for _, j := range []*Job{first, second, third} {
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var w Wire
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		acc.Merge(w)
	}
	ms := func(d time.Duration) int64 { return testEpoch.Add(d).UnixMilli() }
	if acc.ID != "j" || acc.Cause != "investigate" || acc.Start != ms(0) || acc.End != ms(3*time.Second) {
		t.Errorf("merged id %q cause %q start %d end %d", acc.ID, acc.Cause, acc.Start, acc.End)
	}
	if !reflect.DeepEqual(acc.Sensors, []string{"s1", "s2"}) {
		t.Errorf("merged sensors %q, want [s1 s2]", acc.Sensors)
	}
	if len(acc.Hist) != 2 || acc.Hist[0].Msg != "tasked sensor" || acc.Hist[1].TS != ms(2*time.Second) ||
		!acc.Hist[1].Important || len(acc.Hist[1].Attachments) != 1 {
		t.Errorf("merged history %+v", acc.Hist)
	}
}

func TestMergeKeepsHistoryInTimeOrder(t *testing.T) {
	var w Wire
	// The update answering a task arrives before the response creating the job.
	w.Merge(Wire{ID: "j", End: 30, Hist: []WireEntry{{TS: 20, Msg: "answer"}, {TS: 30, Msg: "closed"}}})
	w.Merge(Wire{ID: "j", Start: 5, Cause: "c", Hist: []WireEntry{{TS: 10, Msg: "asked"}, {TS: 30, Msg: "same time, later arrival"}}})
	var got []string
	for _, e := range w.Hist {
		got = append(got, e.Msg)
	}
	if want := "asked,answer,closed,same time, later arrival"; strings.Join(got, ",") != want {
		t.Errorf("history = %q, want %q", strings.Join(got, ","), want)
	}
}
