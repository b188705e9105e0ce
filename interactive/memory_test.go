package interactive

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// pendingFleet is the fleet the pending-task measurements task: one
// organization and its sensors, kept as bytes so that each request gets
// fresh strings, as a decoded webhook would give.
type pendingFleet struct {
	oid     uuid.UUID
	sensors []uuid.UUID
}

func newPendingFleet(sensors int) pendingFleet {
	f := pendingFleet{oid: uuid.New(), sensors: make([]uuid.UUID, sensors)}
	for i := range f.sensors {
		f.sensors[i] = uuid.New()
	}
	return f
}

// newPendingTask makes the k-th task a handler sends: os_packages to one of
// the fleet's sensors, with a job, a named handler and a closure, as Task
// makes it. The closure captures nothing: what a closure captures is its
// author's state, kept whether or not the task is pending.
func (s *Service) newPendingTask(tb testing.TB, f *pendingFleet, k int) task {
	org := tasking.Org{ID: f.oid.String(), JWT: testJWT}
	sid := f.sensors[k%len(f.sensors)].String()
	then := Then(func(context.Context, *Reply) service.Response { return service.OK(nil) })
	t, err := s.newTask(org, sid, "os_packages", []TaskOption{Via("h"), then, WithJob(jobs.New())})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// pendingService returns a service on the service protocol, holding up to
// capacity pending tasks, with the reply handler "h".
func pendingService(tb testing.TB, capacity int) *Service {
	tb.Helper()
	s, err := New("itest", testSecret, WithCapacity(capacity),
		WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	s.HandleReply("h", func(context.Context, *Reply) service.Response { return service.OK(nil) })
	return s
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// fillTasks tracks n tasks in s's pending store as Task does, and returns
// their ids, in the order sent, and the live heap they added per task:
// everything the service keeps for a pending task, its id included. The
// ids are returned as UUIDs, so that the caller's copy does not keep the
// strings the service may not.
func fillTasks(tb testing.TB, s *Service, f *pendingFleet, n int) (ids []uuid.UUID, perTask float64) {
	tb.Helper()
	ids = make([]uuid.UUID, n)
	ctx := context.Background()
	before := liveHeap()
	for k := range n {
		t := s.newPendingTask(tb, f, k)
		ids[k] = s.taskID(ctx, t.sid, t.command)
		if err := s.track(ctx, ids[k].String(), &t); err != nil {
			tb.Fatal(err)
		}
	}
	after := liveHeap()
	if got := s.pending.Stats().Pending; got != int64(n) {
		tb.Fatalf("%d tasks pending, want %d", got, n)
	}
	return ids, float64(after-before) / float64(n)
}

// steadyTasks times Task's tracking part and a reply's Resolve on s, which
// holds the tasks ids in the order they were sent: in batches, a batch of
// new tasks is tracked and the oldest as many are resolved, so the store
// stays at its size. It returns the time per task tracked and per Resolve.
func steadyTasks(tb testing.TB, s *Service, f *pendingFleet, ids []uuid.UUID, ops int) (addNs, resolveNs float64) {
	tb.Helper()
	const batch = 1000
	ctx := context.Background()
	fresh := make([]task, batch)
	freshIDs := make([]string, batch)
	oldIDs := make([]string, batch)
	var addTime, resolveTime time.Duration
	for done := 0; done < ops; done += batch {
		for i := range fresh {
			fresh[i] = s.newPendingTask(tb, f, done+i)
			freshIDs[i] = s.taskID(ctx, fresh[i].sid, fresh[i].command).String()
		}
		start := time.Now()
		for i := range fresh {
			if err := s.track(ctx, freshIDs[i], &fresh[i]); err != nil {
				tb.Fatal(err)
			}
		}
		addTime += time.Since(start)

		for i := range oldIDs {
			oldIDs[i] = ids[i].String()
		}
		start = time.Now()
		for _, id := range oldIDs {
			if _, ok, _ := s.pending.Resolve(ctx, id); !ok {
				tb.Fatalf("Resolve(%s): not pending", id)
			}
		}
		resolveTime += time.Since(start)
		ids = ids[batch:]
		for _, id := range freshIDs {
			ids = append(ids, uuid.MustParse(id))
		}
	}
	return float64(addTime.Nanoseconds()) / float64(ops), float64(resolveTime.Nanoseconds()) / float64(ops)
}

// BenchmarkPendingTasks measures what a million pending tasks cost a
// service: each iteration tracks 1,000,000 tasks in a new service's
// in-memory pending store as Task does (one organization, 10,000
// sensors, os_packages, a job, a named handler and a closure that captures
// nothing; ids, organization and sensor ids are fresh strings per task)
// and reports:
//
//   - B/task: live heap per pending task, everything the service keeps
//     for it included;
//   - ns/task: Task's tracking part, and ns/resolve: a reply's Resolve,
//     at that size, in a steady state where each batch of new tasks is
//     matched by the oldest as many being answered.
//
// ns/op is suppressed (an iteration is a whole fill with its collections).
func BenchmarkPendingTasks(b *testing.B) {
	const pending, sensors, ops = 1_000_000, 10_000, 200_000
	f := newPendingFleet(sensors)
	var perTask, addNs, resolveNs float64
	runs := 0
	for b.Loop() {
		s := pendingService(b, 2*pending)
		ids, cost := fillTasks(b, s, &f, pending)
		add, resolve := steadyTasks(b, s, &f, ids, ops)
		_ = s.Shutdown(context.Background())
		perTask += cost
		addNs += add
		resolveNs += resolve
		runs++
	}
	n := float64(runs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perTask/n, "B/task")
	b.ReportMetric(addNs/n, "ns/task")
	b.ReportMetric(resolveNs/n, "ns/resolve")
}

// taskBound is the most heap one pending task may cost a service.
const taskBound = 256

// TestPendingTaskHeapBound tracks 100,000 tasks as BenchmarkPendingTasks
// does and checks their heap against taskBound, less 32 bytes of margin:
// the id index's load, and so its cost per task, varies with the count,
// and the benchmark measures a million. It does not run in parallel, so no
// other test's allocations count.
func TestPendingTaskHeapBound(t *testing.T) {
	const n, sensors, margin = 100_000, 10_000, 32
	f := newPendingFleet(sensors)
	s := pendingService(t, 2*n)
	_, perTask := fillTasks(t, s, &f, n)
	t.Logf("%d pending tasks: %.1f B each", n, perTask)
	if perTask > taskBound-margin {
		t.Errorf("%d pending tasks cost %.1f B each; want at most %d B", n, perTask, taskBound-margin)
	}
}
