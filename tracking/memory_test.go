package tracking

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
)

// pendingValue stands for what a service keeps per task sent: a reply
// handler, a timeout handler and a 16-byte sensor ID, 32 bytes on a 64-bit
// machine. Its handlers are plain functions, so nothing a closure would
// capture is counted: that is the caller's state, whether or not the task
// is pending.
type pendingValue struct {
	onReply   func(string)
	onTimeout func()
	sensor    [16]byte
}

func replyHandler(string) {}
func timeoutHandler()     {}

// pendingCost is what pending entries cost, as measured by measurePending.
type pendingCost struct {
	perEntry float64 // heap bytes per entry: its value and all the table keeps for it
	perTable float64 // heap bytes per entry the table keeps, the value aside

	// Filled in by measureSteady.
	addNs, resolveNs float64 // time per Add, per Resolve
	allocsPerAdd     float64 // heap allocations per Add, the ID and value aside
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// fillPending returns a table holding n pending entries, each with a
// UUID-string ID (as the interactive layer gives its tasks), made afresh
// for Add, and a fresh *pendingValue, and measures the live heap they
// added. The table has room for twice n, so it evicts nothing. ids is in
// the order of adding, as UUIDs, so that the caller's copy does not keep
// the ID strings the table may not.
func fillPending(tb testing.TB, n int) (table *Table[*pendingValue], ids []uuid.UUID, cost pendingCost) {
	tb.Helper()
	ids = make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	values := make([]*pendingValue, n)
	before := liveHeap()
	for i := range n {
		values[i] = &pendingValue{onReply: replyHandler, onTimeout: timeoutHandler, sensor: [16]byte{byte(i)}}
	}
	withValues := liveHeap()
	table, err := New(Options[*pendingValue]{Capacity: 2 * n})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if err := table.Add(ctx, Entry[*pendingValue]{ID: ids[i].String(), Value: values[i]}); err != nil {
			tb.Fatal(err)
		}
	}
	values = nil // the table holds them now
	after := liveHeap()
	runtime.KeepAlive(ids)
	cost.perEntry = float64(after-before) / float64(n)
	cost.perTable = float64(after-withValues) / float64(n)
	return table, ids, cost
}

// measureSteady times ops Adds and as many Resolves on table, which holds
// the entries ids in the order they were added: in batches, a batch of
// new tasks is sent and the oldest as many are answered, so the table
// stays at its size. It adds what it measured to cost.
func measureSteady(tb testing.TB, table *Table[*pendingValue], ids []uuid.UUID, ops int, cost *pendingCost) {
	tb.Helper()
	const batch = 1000
	ctx := context.Background()
	fresh := make([]Entry[*pendingValue], batch)
	oldest := make([]string, batch)
	var addTime, resolveTime time.Duration
	var mallocs uint64
	var m runtime.MemStats
	for done := 0; done < ops; done += batch {
		for i := range fresh {
			fresh[i] = Entry[*pendingValue]{ID: uuid.NewString(), Value: &pendingValue{onReply: replyHandler, onTimeout: timeoutHandler}}
		}
		runtime.ReadMemStats(&m)
		before := m.Mallocs
		start := time.Now()
		for _, e := range fresh {
			if err := table.Add(ctx, e); err != nil {
				tb.Fatal(err)
			}
		}
		addTime += time.Since(start)
		runtime.ReadMemStats(&m)
		mallocs += m.Mallocs - before

		for i := range oldest {
			oldest[i] = ids[i].String()
		}
		start = time.Now()
		for _, id := range oldest {
			if _, ok, _ := table.Resolve(ctx, id); !ok {
				tb.Fatalf("Resolve(%s): not pending", id)
			}
		}
		resolveTime += time.Since(start)
		ids = ids[batch:]
		for _, e := range fresh {
			ids = append(ids, uuid.MustParse(e.ID))
		}
	}
	cost.addNs = float64(addTime.Nanoseconds()) / float64(ops)
	cost.resolveNs = float64(resolveTime.Nanoseconds()) / float64(ops)
	cost.allocsPerAdd = float64(mallocs) / float64(ops)
}

// BenchmarkPendingMemory measures what a million pending tasks cost. Each
// iteration fills a table with 1,000,000 entries, each a UUID-string ID and
// a pointer to a 32-byte pendingValue, and reports:
//
//   - B/pending: live heap per pending entry, its value and what the
//     table keeps of its ID included, as that is what a task costs while
//     it waits;
//   - table-B/pending: the table's own part of it, the value aside;
//   - ns/add, ns/resolve, allocs/add: an Add and a Resolve at that size,
//     in a steady state where each batch of new tasks is matched by the
//     oldest as many being answered.
//
// ns/op is suppressed (an iteration is a whole fill with its collections);
// B/op and allocs/op are those of a whole iteration.
func BenchmarkPendingMemory(b *testing.B) {
	const pending, ops = 1_000_000, 200_000
	var sum pendingCost
	runs := 0
	for b.Loop() {
		table, ids, cost := fillPending(b, pending)
		measureSteady(b, table, ids, ops, &cost)
		table.Close()
		sum.perEntry += cost.perEntry
		sum.perTable += cost.perTable
		sum.addNs += cost.addNs
		sum.resolveNs += cost.resolveNs
		sum.allocsPerAdd += cost.allocsPerAdd
		runs++
	}
	n := float64(runs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(sum.perEntry/n, "B/pending")
	b.ReportMetric(sum.perTable/n, "table-B/pending")
	b.ReportMetric(sum.addNs/n, "ns/add")
	b.ReportMetric(sum.resolveNs/n, "ns/resolve")
	b.ReportMetric(sum.allocsPerAdd/n, "allocs/add")
}

// pendingBound is the most heap one pending task may cost, with a
// UUID-string ID and a 32-byte value.
const pendingBound = 256

// TestPendingHeapBound fills a table with 100,000 pending tasks and checks
// their heap against pendingBound, less 32 bytes of margin: the ID index's
// load, and so its cost per entry, varies with the count, and
// BenchmarkPendingMemory measures a million. It does not run in parallel,
// so no other test's allocations count.
func TestPendingHeapBound(t *testing.T) {
	const n, margin = 100_000, 32
	table, _, cost := fillPending(t, n)
	defer table.Close()
	t.Logf("%d pending: %.1f B each, of which the table's own %.1f B", n, cost.perEntry, cost.perTable)
	if cost.perEntry > pendingBound-margin {
		t.Errorf("%d pending tasks cost %.1f B each (the table's own part %.1f B); want at most %d B", n, cost.perEntry, cost.perTable, pendingBound-margin)
	}
}

// Once the table has had as many entries, adding and resolving one
// allocates nothing of the table's own.
func TestAddResolveAllocatesNothing(t *testing.T) {
	const n = 1000
	table, err := New(Options[*pendingValue]{Capacity: n})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	ids := make([]string, n)
	value := &pendingValue{}
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := table.Add(ctx, Entry[*pendingValue]{ID: ids[i], Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	next := 0
	allocs := testing.AllocsPerRun(10*n, func() {
		id := ids[next%n] // the oldest pending
		next++
		if _, ok, _ := table.Resolve(ctx, id); !ok {
			t.Fatalf("Resolve(%s): not pending", id)
		}
		if err := table.Add(ctx, Entry[*pendingValue]{ID: id, Value: value}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Resolve and Add allocate %v times, want 0", allocs)
	}
}
