package tracking

import (
	"errors"
	"testing"
	"time"
)

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*Table[string])
		entry   Entry[string]
		wantErr error
	}{
		{"empty ID", nil, Entry[string]{}, ErrEmptyID},
		{
			"duplicate ID",
			func(tb *Table[string]) { _ = tb.Add(Entry[string]{ID: "a"}) },
			Entry[string]{ID: "a"},
			ErrDuplicateID,
		},
		{"closed table", func(tb *Table[string]) { tb.Close() }, Entry[string]{ID: "a"}, ErrClosed},
		{
			"ID free again after resolve",
			func(tb *Table[string]) {
				_ = tb.Add(Entry[string]{ID: "a"})
				tb.Resolve("a")
			},
			Entry[string]{ID: "a"},
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _, _ := newFakeTable(t, Options[string]{})
			if tt.setup != nil {
				tt.setup(table)
			}
			err := table.Add(tt.entry)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Add error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAddFillsTimes(t *testing.T) {
	const ttl = time.Minute
	start := newFakeClock().Now()
	created := start.Add(-30 * time.Second)
	expires := start.Add(time.Second)
	tests := []struct {
		name        string
		entry       Entry[string]
		wantCreated time.Time
		wantExpires time.Time
	}{
		{"both zero", Entry[string]{ID: "a"}, start, start.Add(ttl)},
		{"created given", Entry[string]{ID: "a", Created: created}, created, created.Add(ttl)},
		{"expires given", Entry[string]{ID: "a", Expires: expires}, start, expires},
		{"replies ignored", Entry[string]{ID: "a", Replies: 9}, start, start.Add(ttl)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _, _ := newFakeTable(t, Options[string]{TTL: ttl})
			mustAdd(t, table, tt.entry)
			got, ok := table.Done("a")
			if !ok {
				t.Fatal("entry not pending after Add")
			}
			if !got.Created.Equal(tt.wantCreated) || !got.Expires.Equal(tt.wantExpires) {
				t.Errorf("Created, Expires = %v, %v; want %v, %v", got.Created, got.Expires, tt.wantCreated, tt.wantExpires)
			}
			if got.Replies != 0 {
				t.Errorf("Replies = %d, want 0", got.Replies)
			}
		})
	}
}

// TestResolveAndDone drives one entry through a sequence of calls and checks
// each result.
func TestResolveAndDone(t *testing.T) {
	type call struct {
		op          string // "resolve", "done" or "advance"
		advance     time.Duration
		wantOK      bool
		wantReplies int
	}
	tests := []struct {
		name         string
		streaming    bool
		calls        []call
		wantTimedOut []string
	}{
		{
			name: "single entry resolves once",
			calls: []call{
				{op: "resolve", wantOK: true, wantReplies: 1},
				{op: "resolve", wantOK: false},
				{op: "done", wantOK: false},
			},
		},
		{
			name:      "streaming entry counts replies until done",
			streaming: true,
			calls: []call{
				{op: "resolve", wantOK: true, wantReplies: 1},
				{op: "resolve", wantOK: true, wantReplies: 2},
				{op: "resolve", wantOK: true, wantReplies: 3},
				{op: "done", wantOK: true, wantReplies: 3},
				{op: "resolve", wantOK: false},
			},
		},
		{
			name: "done finishes a single entry",
			calls: []call{
				{op: "done", wantOK: true, wantReplies: 0},
				{op: "resolve", wantOK: false},
			},
		},
		{
			name: "just before expiry still resolves",
			calls: []call{
				{op: "advance", advance: time.Minute - time.Nanosecond},
				{op: "resolve", wantOK: true, wantReplies: 1},
			},
		},
		{
			name: "at expiry belongs to the timeout",
			calls: []call{
				{op: "advance", advance: time.Minute},
				{op: "resolve", wantOK: false},
				{op: "done", wantOK: false},
			},
			wantTimedOut: []string{"a"},
		},
		{
			name:      "streaming entry past expiry stops resolving",
			streaming: true,
			calls: []call{
				{op: "resolve", wantOK: true, wantReplies: 1},
				{op: "advance", advance: 2 * time.Minute},
				{op: "resolve", wantOK: false},
				{op: "done", wantOK: false},
			},
			wantTimedOut: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, clock, rec := newFakeTable(t, Options[string]{TTL: time.Minute})
			mustAdd(t, table, Entry[string]{ID: "a", Value: "v", JobID: "job", State: []byte("s"), Streaming: tt.streaming})
			for i, c := range tt.calls {
				var got Entry[string]
				var ok bool
				switch c.op {
				case "advance":
					clock.Advance(c.advance)
					continue
				case "resolve":
					got, ok = table.Resolve("a")
				case "done":
					got, ok = table.Done("a")
				}
				if ok != c.wantOK {
					t.Fatalf("call %d (%s): ok = %v, want %v", i, c.op, ok, c.wantOK)
				}
				if !ok {
					if got.ID != "" {
						t.Errorf("call %d (%s): not ok but returned %+v", i, c.op, got)
					}
					continue
				}
				if got.ID != "a" || got.Value != "v" || got.JobID != "job" || string(got.State) != "s" || got.Streaming != tt.streaming {
					t.Errorf("call %d (%s): entry = %+v, fields not preserved", i, c.op, got)
				}
				if got.Replies != c.wantReplies {
					t.Errorf("call %d (%s): Replies = %d, want %d", i, c.op, got.Replies, c.wantReplies)
				}
			}
			table.Sweep(clock.Now().Add(time.Hour))
			if got := rec.timedOutIDs(); !equalStrings(got, tt.wantTimedOut) {
				t.Errorf("timed out = %v, want %v", got, tt.wantTimedOut)
			}
		})
	}
}

func TestResolveUnknownID(t *testing.T) {
	table, _, _ := newFakeTable(t, Options[string]{})
	mustAdd(t, table, Entry[string]{ID: "a"})
	for _, id := range []string{"", "b", "A"} {
		if e, ok := table.Resolve(id); ok {
			t.Errorf("Resolve(%q) = %+v, want not found", id, e)
		}
		if e, ok := table.Done(id); ok {
			t.Errorf("Done(%q) = %+v, want not found", id, e)
		}
	}
	if table.Len() != 1 {
		t.Errorf("Len = %d, want 1", table.Len())
	}
}

func TestStatsAddUp(t *testing.T) {
	table, clock, rec := newFakeTable(t, Options[string]{Capacity: 3, TTL: time.Minute})
	mustAdd(t, table, Entry[string]{ID: "single"})
	mustAdd(t, table, Entry[string]{ID: "stream", Streaming: true})
	mustAdd(t, table, Entry[string]{ID: "idle"})
	table.Resolve("single")
	table.Resolve("stream")
	table.Resolve("stream")
	mustAdd(t, table, Entry[string]{ID: "late1"})
	mustAdd(t, table, Entry[string]{ID: "late2"}) // full: evicts "idle", the least recently used
	if e, ok := table.Done("stream"); !ok || e.Replies != 2 {
		t.Fatalf("Done(stream) = %+v, %v; want 2 replies, true", e, ok)
	}
	table.Sweep(clock.Advance(time.Minute))
	mustAdd(t, table, Entry[string]{ID: "drop1"})
	mustAdd(t, table, Entry[string]{ID: "drop2"})
	if got := table.Stats().Pending; got != 2 {
		t.Fatalf("Pending before Close = %d, want 2", got)
	}
	table.Close()

	got := table.Stats()
	want := Stats{Pending: 0, Added: 7, Resolved: 3, Done: 1, TimedOut: 2, Evicted: 1, Dropped: 2}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if ids := rec.evictedIDs(); !equalStrings(ids, []string{"idle"}) {
		t.Errorf("evicted %v, want [idle]", ids)
	}
	if ids := rec.timedOutIDs(); !equalStrings(ids, []string{"late1", "late2"}) {
		t.Errorf("timed out %v, want [late1 late2]", ids)
	}
}
