package tracking

import (
	"errors"
	"math"
	"slices"
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
			func(tb *Table[string]) { _ = tb.Add(ctx, Entry[string]{ID: "a"}) },
			Entry[string]{ID: "a"},
			ErrDuplicateID,
		},
		{"closed table", func(tb *Table[string]) { _ = tb.Close() }, Entry[string]{ID: "a"}, ErrClosed},
		{
			"ID free again after resolve",
			func(tb *Table[string]) {
				_ = tb.Add(ctx, Entry[string]{ID: "a"})
				_, _, _ = tb.Resolve(ctx, "a")
			},
			Entry[string]{ID: "a"},
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _, _ := newTestTable(t, Options[string]{})
			if tt.setup != nil {
				tt.setup(table)
			}
			err := table.Add(ctx, tt.entry)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Add error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAddFillsTimes(t *testing.T) {
	const ttl = time.Minute
	created := testStart.Add(-30 * time.Second)
	expires := testStart.Add(time.Second)
	tests := []struct {
		name        string
		entry       Entry[string]
		wantCreated time.Time
		wantExpires time.Time
	}{
		{"both zero", Entry[string]{ID: "a"}, testStart, testStart.Add(ttl)},
		{"created given", Entry[string]{ID: "a", Created: created}, created, created.Add(ttl)},
		{"expires given", Entry[string]{ID: "a", Expires: expires}, testStart, expires},
		{"replies ignored", Entry[string]{ID: "a", Replies: 9}, testStart, testStart.Add(ttl)},
		{"other location", Entry[string]{ID: "a", Expires: expires.In(time.FixedZone("UTC+1", 3600))}, testStart, expires},
		{"beyond 292 years", Entry[string]{ID: "a", Expires: testStart.AddDate(500, 0, 0)}, testStart, testStart.Add(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, _, _ := newTestTable(t, Options[string]{TTL: ttl})
			mustAdd(t, table, tt.entry)
			got, ok := done(t, table, "a")
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

// TestResolveAndDone drives one entry through a sequence of calls, moving
// the clock (which fires the table's timer) in between, and checks each
// result.
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
			table, clock, rec := newTestTable(t, Options[string]{TTL: time.Minute})
			mustAdd(t, table, Entry[string]{ID: "a", Value: "v", Streaming: tt.streaming})
			for i, c := range tt.calls {
				var got Entry[string]
				var ok bool
				switch c.op {
				case "advance":
					clock.Advance(c.advance)
					continue
				case "resolve":
					got, ok = resolve(t, table, "a")
				case "done":
					got, ok = done(t, table, "a")
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
				if got.ID != "a" || got.Value != "v" || got.Streaming != tt.streaming {
					t.Errorf("call %d (%s): entry = %+v, fields not preserved", i, c.op, got)
				}
				if got.Replies != c.wantReplies {
					t.Errorf("call %d (%s): Replies = %d, want %d", i, c.op, got.Replies, c.wantReplies)
				}
			}
			clock.Advance(time.Hour)
			if got := rec.timedOutIDs(); !slices.Equal(got, tt.wantTimedOut) {
				t.Errorf("timed out = %v, want %v", got, tt.wantTimedOut)
			}
		})
	}
}

// Expiry is decided by the clock, not by when the sweep runs: once the clock
// has reached an entry's expiry, Resolve and Done refuse it even though the
// table's timer has not fired yet, and the timeout then gets it.
func TestExpiredEntryRefusedBeforeSweep(t *testing.T) {
	for _, tt := range []struct {
		name      string
		streaming bool
	}{{"single", false}, {"streaming", true}} {
		t.Run(tt.name, func(t *testing.T) {
			table, clock, rec := newTestTable(t, Options[string]{TTL: time.Minute})
			// Scheduled before Add arms the table's timer for the same
			// instant, so the clock runs it first: the entry is expired
			// but still in the table.
			var resolvedOK, doneOK, stillPending bool
			clock.AfterFunc(time.Minute, func() {
				stillPending = table.Len() == 1
				_, resolvedOK = resolve(t, table, "a")
				_, doneOK = done(t, table, "a")
			})
			mustAdd(t, table, Entry[string]{ID: "a", Streaming: tt.streaming})
			if _, ok := resolve(t, table, "nothing"); ok {
				t.Fatal("Resolve of an unknown ID succeeded")
			}
			clock.Advance(time.Minute)

			if !stillPending {
				t.Fatal("the entry had already left the table when the check ran; the test no longer checks what it means to")
			}
			if resolvedOK || doneOK {
				t.Errorf("at expiry, before the sweep: Resolve ok = %v, Done ok = %v; want both false", resolvedOK, doneOK)
			}
			if got := rec.timedOutIDs(); !slices.Equal(got, []string{"a"}) {
				t.Errorf("timed out %v, want [a]", got)
			}
		})
	}
}

func TestResolveUnknownID(t *testing.T) {
	table, _, _ := newTestTable(t, Options[string]{})
	mustAdd(t, table, Entry[string]{ID: "a"})
	for _, id := range []string{"", "b", "A"} {
		if e, ok := resolve(t, table, id); ok {
			t.Errorf("Resolve(%q) = %+v, want not found", id, e)
		}
		if e, ok := done(t, table, id); ok {
			t.Errorf("Done(%q) = %+v, want not found", id, e)
		}
	}
	if table.Len() != 1 {
		t.Errorf("Len = %d, want 1", table.Len())
	}
}

func TestStatsAddUp(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{Capacity: 3, TTL: time.Minute})
	mustAdd(t, table, Entry[string]{ID: "single"})
	mustAdd(t, table, Entry[string]{ID: "stream", Streaming: true})
	mustAdd(t, table, Entry[string]{ID: "idle"})
	resolve(t, table, "single")
	resolve(t, table, "stream")
	resolve(t, table, "stream")
	mustAdd(t, table, Entry[string]{ID: "late1"})
	mustAdd(t, table, Entry[string]{ID: "late2"}) // full: evicts "idle", the least recently used
	if e, ok := done(t, table, "stream"); !ok || e.Replies != 2 {
		t.Fatalf("Done(stream) = %+v, %v; want 2 replies, true", e, ok)
	}
	clock.Advance(time.Minute)
	mustAdd(t, table, Entry[string]{ID: "drop1"})
	mustAdd(t, table, Entry[string]{ID: "drop2"})
	if got := table.Stats().Pending; got != 2 {
		t.Fatalf("Pending before Close = %d, want 2", got)
	}
	if err := table.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got := table.Stats()
	want := Stats{Pending: 0, Added: 7, Resolved: 3, Done: 1, TimedOut: 2, Evicted: 1, Dropped: 2}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if ids := rec.evictedIDs(); !slices.Equal(ids, []string{"idle"}) {
		t.Errorf("evicted %v, want [idle]", ids)
	}
	// Both expired in one sweep, so they were handed over concurrently.
	if ids := sorted(rec.timedOutIDs()); !slices.Equal(ids, []string{"late1", "late2"}) {
		t.Errorf("timed out %v, want late1 and late2", ids)
	}
}

// Table is the in-memory Store; the tests use it through that interface
// too, as a service does.
func TestTableAsStore(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{TTL: time.Minute})
	var store Store[string] = table
	if err := store.Add(ctx, Entry[string]{ID: "a", Value: "v"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := store.Add(ctx, Entry[string]{ID: "b"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := store.Add(ctx, Entry[string]{ID: "c"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if e, ok, err := store.Resolve(ctx, "a"); err != nil || !ok || e.Value != "v" || e.Replies != 1 {
		t.Errorf("Resolve(a) = %+v, %v, %v; want the entry with 1 reply, true, nil", e, ok, err)
	}
	if _, ok, err := store.Done(ctx, "b"); err != nil || !ok {
		t.Errorf("Done(b) = %v, %v; want true, nil", ok, err)
	}
	clock.Advance(time.Minute)
	if ids := rec.timedOutIDs(); !slices.Equal(ids, []string{"c"}) {
		t.Errorf("timed out %v, want [c]", ids)
	}
	if s := store.Stats(); s != (Stats{Added: 3, Resolved: 1, Done: 1, TimedOut: 1}) {
		t.Errorf("Stats = %+v", s)
	}
	if err := store.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if err := store.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}
