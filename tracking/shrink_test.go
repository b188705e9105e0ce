package tracking

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// After a burst, the table gives its memory back.
func TestTableShrinksAfterBurst(t *testing.T) {
	clk := NewManualClock(time.Unix(1000, 0))
	tbl, err := New(Options[int]{Capacity: 1 << 20, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	ctx := context.Background()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const burst = 200000
	for i := range burst {
		if err := tbl.Add(ctx, Entry[int]{ID: fmt.Sprint("task-", i), Value: i}); err != nil {
			t.Fatal(err)
		}
	}
	full := heap()
	// Most are answered; a few stay pending, in their order.
	for i := range burst - 10 {
		if _, ok, _ := tbl.Resolve(ctx, fmt.Sprint("task-", i)); !ok {
			t.Fatalf("task-%d not pending", i)
		}
	}
	after := heap()
	t.Logf("heap: %d KiB before, %d KiB with %d pending, %d KiB with 10 left", before>>10, full>>10, burst, after>>10)
	if grown, kept := int64(full)-int64(before), int64(after)-int64(before); kept > grown/16 {
		t.Errorf("with 10 of %d entries left the table keeps %d of the %d KiB it grew by", burst, kept>>10, grown>>10)
	}
	tbl.mu.Lock()
	slots, heapCap, err := tbl.set.slots, cap(tbl.set.expiry), tbl.set.check()
	tbl.mu.Unlock()
	if slots > shrinkMin || heapCap > shrinkMin {
		t.Errorf("%d slots and expiry heap capacity %d after the burst", slots, heapCap)
	}
	if err != nil {
		t.Error(err)
	}
	// What is left still works, in LRU and expiry order.
	if _, ok, _ := tbl.Resolve(ctx, fmt.Sprint("task-", burst-1)); !ok {
		t.Error("a surviving entry was lost")
	}
	clk.Advance(DefaultTTL)
	if st := tbl.Stats(); st.TimedOut != 9 || st.Pending != 0 {
		t.Errorf("stats after expiry: %+v", st)
	}
}

func TestShrinkKeepsEvictionOrder(t *testing.T) {
	var evicted []string
	tbl, err := New(Options[int]{Capacity: 2000, OnEvict: func(e Entry[int]) { evicted = append(evicted, e.ID) }})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	ctx := context.Background()
	for i := range 2000 {
		_ = tbl.Add(ctx, Entry[int]{ID: fmt.Sprint(i)})
	}
	for i := 2; i < 2000; i++ { // leaves 0 and 1, oldest first
		tbl.Done(ctx, fmt.Sprint(i))
	}
	for i := 2000; i < 3998; i++ {
		_ = tbl.Add(ctx, Entry[int]{ID: fmt.Sprint(i)})
	}
	_ = tbl.Add(ctx, Entry[int]{ID: "one more"})
	if len(evicted) != 1 || evicted[0] != "0" {
		t.Errorf("evicted %v, want the oldest, 0", evicted)
	}
}
