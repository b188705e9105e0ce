package tracking

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkAddResolve measures one task's round trip through the table: a
// continuation is added and its reply resolves it, from many goroutines.
func BenchmarkAddResolve(b *testing.B) {
	table, err := New(Options[func()]{})
	if err != nil {
		b.Fatal(err)
	}
	defer table.Close()
	var workers atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		prefix := strconv.FormatInt(workers.Add(1), 10) + "-"
		for i := 0; pb.Next(); i++ {
			id := prefix + strconv.Itoa(i)
			if err := table.Add(Entry[func()]{ID: id}); err != nil {
				b.Error(err)
				return
			}
			if _, ok := table.Resolve(id); !ok {
				b.Errorf("Resolve(%s) found nothing", id)
				return
			}
		}
	})
}
