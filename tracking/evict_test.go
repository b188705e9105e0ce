package tracking

import (
	"github.com/lcsvc/lcservice/internal/bubble"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEvictionFollowsLRUOrder(t *testing.T) {
	// Each step is "+id" (add single), "*id" (add streaming), "?id"
	// (Resolve) or "!id" (Done). Capacity is 3.
	tests := []struct {
		name        string
		steps       string
		wantEvicted []string
		wantPending []string // sorted
	}{
		{"insertion order when unused", "+a +b +c +d +e", []string{"a", "b"}, []string{"c", "d", "e"}},
		{"streaming reply counts as use", "*a +b +c ?a +d", []string{"b"}, []string{"a", "c", "d"}},
		{"resolved entries free space", "+a +b +c ?b +d", nil, []string{"a", "c", "d"}},
		{"done entries free space", "*a +b +c !a +d", nil, []string{"b", "c", "d"}},
		{"failed duplicate add is no use", "+a +b +c +a +d", []string{"a"}, []string{"b", "c", "d"}},
		{"unknown resolve changes nothing", "+a +b +c ?x +d", []string{"a"}, []string{"b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, clock, rec := newTestTable(t, Options[string]{Capacity: 3})
			for _, step := range strings.Fields(tt.steps) {
				op, id := step[0], step[1:]
				switch op {
				case '+', '*':
					_ = table.Add(ctx, Entry[string]{ID: id, Streaming: op == '*'})
				case '?':
					resolve(t, table, id)
				case '!':
					done(t, table, id)
				}
			}
			if got := rec.evictedIDs(); !slices.Equal(got, tt.wantEvicted) {
				t.Errorf("evicted %v, want %v", got, tt.wantEvicted)
			}
			if got := table.Stats().Evicted; got != int64(len(tt.wantEvicted)) {
				t.Errorf("Stats.Evicted = %d, want %d", got, len(tt.wantEvicted))
			}
			for _, id := range tt.wantEvicted {
				if _, ok := resolve(t, table, id); ok {
					t.Errorf("evicted %q still resolves", id)
				}
			}
			// Evicted entries are gone for good: they never time out. The
			// rest expire together, in one sweep.
			clock.Advance(time.Hour)
			if got := sorted(rec.timedOutIDs()); !slices.Equal(got, tt.wantPending) {
				t.Errorf("timed out %v, want the pending %v", got, tt.wantPending)
			}
		})
	}
}

func TestOnEvictMayCallTable(t *testing.T) {
	var table *Table[string]
	evictedOnce := false
	table, _, _ = newTestTable(t, Options[string]{
		Capacity: 2,
		OnEvict: func(e Entry[string]) {
			// Runs on the Add's goroutine after the lock is released: all
			// of these would deadlock if it were called under the lock.
			table.Len()
			table.Stats()
			_, _, _ = table.Resolve(ctx, "b")
			if !evictedOnce {
				evictedOnce = true
				_ = table.Add(ctx, Entry[string]{ID: e.ID + "-again"})
			}
		},
	})
	mustAdd(t, table, Entry[string]{ID: "a"})
	mustAdd(t, table, Entry[string]{ID: "b"})

	added := make(chan error, 1)
	go func() { added <- table.Add(ctx, Entry[string]{ID: "c"}) }()
	select {
	case err := <-added:
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
	case <-time.After(bubble.WaitLimit(t)):
		t.Fatal("Add deadlocked with an OnEvict that calls into the table")
	}
	// "a" was evicted; its callback resolved "b" and re-added "a-again".
	for _, id := range []string{"a-again", "c"} {
		if _, ok := done(t, table, id); !ok {
			t.Errorf("%q not pending", id)
		}
	}
}
