package tracking

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAddResolve measures one task's round trip through the table: a
// continuation is added and its reply resolves it, from many goroutines.
func BenchmarkAddResolve(b *testing.B) {
	table, err := New(Options[func()]{})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	benchmarkAddResolve(b, table)
}

// BenchmarkAddResolveManualClock is the same round trip on a clock that
// stands still, without the system clock's cost.
func BenchmarkAddResolveManualClock(b *testing.B) {
	table, err := New(Options[func()]{Clock: NewManualClock(time.Now())})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	benchmarkAddResolve(b, table)
}

func benchmarkAddResolve(b *testing.B, table *Table[func()]) {
	ctx := context.Background()
	var workers atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		prefix := strconv.FormatInt(workers.Add(1), 10) + "-"
		for i := 0; pb.Next(); i++ {
			id := prefix + strconv.Itoa(i)
			if err := table.Add(ctx, Entry[func()]{ID: id}); err != nil {
				b.Error(err)
				return
			}
			if _, ok, err := table.Resolve(ctx, id); !ok || err != nil {
				b.Errorf("Resolve(%s) = %v, %v; want true, nil", id, ok, err)
				return
			}
		}
	})
}

// BenchmarkTimeout measures entries timing out: each iteration adds one,
// and every thousandth moves the clock past them all, so the table's timer
// sweeps a thousand at a time.
func BenchmarkTimeout(b *testing.B) {
	ctx := context.Background()
	clock := NewManualClock(time.Now())
	var timedOut atomic.Int64
	table, err := New(Options[int]{
		TTL:       time.Second,
		Clock:     clock,
		OnTimeout: func(Entry[int]) { timedOut.Add(1) },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := table.Add(ctx, Entry[int]{ID: strconv.Itoa(i), Value: i}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			clock.Advance(time.Second)
		}
	}
	clock.Advance(time.Second)
	if s := table.Stats(); s.TimedOut != s.Added || timedOut.Load() != s.Added {
		b.Fatalf("Stats = %+v and %d OnTimeout calls; want every entry added to time out", s, timedOut.Load())
	}
}
