package tracking

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// An ID in UUID form is the same ID on the way out, in every callback,
// and an uppercase spelling of it is another ID, kept as a string.
func TestUUIDFormIDs(t *testing.T) {
	table, clock, rec := newTestTable(t, Options[string]{Capacity: 3})
	lower := uuid.NewString()
	upper := strings.ToUpper(lower)
	mustAdd(t, table, Entry[string]{ID: lower, Value: "lower"})
	mustAdd(t, table, Entry[string]{ID: upper, Value: "upper"})
	if err := table.Add(ctx, Entry[string]{ID: lower}); err == nil {
		t.Errorf("adding %q twice succeeded", lower)
	}
	for id, want := range map[string]string{lower: "lower", upper: "upper"} {
		if e, ok := done(t, table, id); !ok || e.ID != id || e.Value != want {
			t.Errorf("Done(%q) = %q, %q, %v; want %q, %q, true", id, e.ID, e.Value, ok, id, want)
		}
	}

	timedOut, evicted := uuid.NewString(), uuid.NewString()
	mustAdd(t, table, Entry[string]{ID: evicted})
	mustAdd(t, table, Entry[string]{ID: timedOut, Expires: clock.Now().Add(time.Second)})
	mustAdd(t, table, Entry[string]{ID: "named"})
	mustAdd(t, table, Entry[string]{ID: uuid.NewString()})
	clock.Advance(time.Second)
	if got := rec.evictedIDs(); len(got) != 1 || got[0] != evicted {
		t.Errorf("evicted %q, want [%s]", got, evicted)
	}
	if got := rec.timedOutIDs(); len(got) != 1 || got[0] != timedOut {
		t.Errorf("timed out %q, want [%s]", got, timedOut)
	}
	if e, ok := resolve(t, table, "named"); !ok || e.ID != "named" {
		t.Errorf("Resolve(named) = %q, %v", e.ID, ok)
	}

	// The empty ID is no ID, not the zero UUID's.
	zero := uuid.UUID{}.String()
	mustAdd(t, table, Entry[string]{ID: zero})
	if e, ok := resolve(t, table, ""); ok {
		t.Errorf("Resolve(\"\") found %q", e.ID)
	}
	if e, ok := done(t, table, zero); !ok || e.ID != zero {
		t.Errorf("Done(%q) = %q, %v", zero, e.ID, ok)
	}
}
