package tracking

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/lcsvc/lcservice/internal/uuidtext"
)

// check reports the first broken invariant of s: the index, the recency
// list and the expiry heap hold the same entries, each node knows its
// place, the heap is ordered, and every other slot is free and empty.
func (s *pendingSet[V]) check() error {
	seen := make(map[int32]bool)
	count, newer := 0, none
	for i := s.newest; i != none; i = s.at(i).older {
		if seen[i] {
			return fmt.Errorf("recency list loops at slot %d", i)
		}
		seen[i] = true
		n := s.at(i)
		if n.newer != newer {
			return fmt.Errorf("slot %d: newer = %d, want %d", i, n.newer, newer)
		}
		id := s.id(i)
		if k, isUUID := uuidtext.Parse(id); isUUID == n.named || isUUID && uuidKey(k) != n.key {
			return fmt.Errorf("slot %d holds %q with key %x, named %v", i, id, n.key, n.named)
		}
		if j, ok := s.lookup(id); !ok || j != i {
			return fmt.Errorf("slot %d holds %q, which the index maps to %d, %v", i, id, j, ok)
		}
		newer = i
		count++
	}
	if s.oldest != newer {
		return fmt.Errorf("oldest = %d, want %d", s.oldest, newer)
	}
	if count != s.len() || count != len(s.expiry) || len(s.named) != len(s.names) {
		return fmt.Errorf("%d in the recency list, %d indexed (%d by name, %d names), %d in the heap",
			count, s.len(), len(s.named), len(s.names), len(s.expiry))
	}
	for p, i := range s.expiry {
		if !seen[i] {
			return fmt.Errorf("heap[%d] = slot %d, which is not pending", p, i)
		}
		if s.at(i).pos != int32(p) {
			return fmt.Errorf("heap[%d] = slot %d, whose pos is %d", p, i, s.at(i).pos)
		}
		if p > 0 && earlier(s.at(i), s.at(s.expiry[(p-1)/2])) {
			return fmt.Errorf("heap[%d] expires before its parent", p)
		}
	}
	free := 0
	for i := s.free; i != none; i = s.at(i).older {
		if seen[i] {
			return fmt.Errorf("free slot %d is pending or on the free list twice", i)
		}
		seen[i] = true
		if n := *s.at(i); !reflect.ValueOf(node[V]{older: n.older}).Equal(reflect.ValueOf(n)) {
			return fmt.Errorf("free slot %d keeps %+v", i, n)
		}
		free++
	}
	if count+free != s.slots {
		return fmt.Errorf("%d pending and %d free in %d slots", count, free, s.slots)
	}
	total := 0
	for c, chunk := range s.chunks {
		if c < len(s.chunks)-1 && len(chunk) != chunkSize {
			return fmt.Errorf("chunk %d of %d holds %d slots", c, len(s.chunks), len(chunk))
		}
		if cap(chunk) > chunkSize {
			return fmt.Errorf("chunk %d has room for %d slots, more than %d", c, cap(chunk), chunkSize)
		}
		total += len(chunk)
	}
	if total != s.slots {
		return fmt.Errorf("chunks hold %d slots, want %d", total, s.slots)
	}
	if s.peak < count {
		return fmt.Errorf("peak %d below the %d pending", s.peak, count)
	}
	return nil
}

// modelID returns the k-th ID of the model test: IDs in UUID form, kept as
// keys, mixed with IDs kept as strings, an uppercase UUID among them.
func modelID(k int) string {
	switch k % 3 {
	case 0:
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", k, k)
	case 1:
		return fmt.Sprintf("%08X-0000-4000-8000-%012X", k+0xabc, k)
	}
	return fmt.Sprint("e", k)
}

// TestPendingSetAgainstModel drives a set through random bursts of
// inserts, removals, touches and expiries, with its storage rebuilt on the
// way down, and compares it after each step with a plain slice in recency
// order.
func TestPendingSetAgainstModel(t *testing.T) {
	type entry struct {
		id      string
		expires int64
		seq     uint64
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s := newPendingSet[*int](0)
	var model []entry // oldest first
	var seq uint64
	removeAt := func(k int) {
		e := model[k]
		i, ok := s.lookup(e.id)
		if !ok {
			t.Fatalf("%q not found", e.id)
		}
		if n := s.at(i); n.expires != e.expires || *n.value != int(e.seq) {
			t.Fatalf("%q holds expires %d, value %d; want %d, %d", e.id, n.expires, *n.value, e.expires, e.seq)
		}
		s.remove(i)
		model = slices.Delete(model, k, k+1)
	}
	compare := func(when string) {
		t.Helper()
		if err := s.check(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		var ids []string
		for i := s.oldest; i != none; i = s.at(i).newer {
			ids = append(ids, s.id(i))
		}
		want := make([]string, len(model))
		for k, e := range model {
			want[k] = e.id
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("%s: recency order differs from the model's", when)
		}
	}
	next := 0
	for round := range 6 {
		high := 1500 + rng.IntN(1500)
		rebuilds := 0
		for phase := 0; phase < 2; phase++ {
			for step := 0; step < 4*high; step++ {
				grow := phase == 0
				switch op := rng.IntN(10); {
				case op < 7 && grow || op < 2:
					seq++
					v := int(seq)
					e := entry{id: modelID(next), expires: int64(rng.IntN(50)), seq: seq}
					next++
					s.insert(pendingIDOf(e.id), node[*int]{value: &v, expires: e.expires})
					model = append(model, e)
				case len(model) == 0:
				case op < 7:
					removeAt(rng.IntN(len(model)))
				case op < 8:
					k := rng.IntN(len(model))
					i, _ := s.lookup(model[k].id)
					s.touch(i)
					e := model[k]
					model = append(slices.Delete(model, k, k+1), e)
				default:
					first := 0
					for k, e := range model {
						if e.expires < model[first].expires || e.expires == model[first].expires && e.seq < model[first].seq {
							first = k
						}
					}
					if got := s.id(s.earliest()); got != model[first].id {
						t.Fatalf("round %d: earliest is %q, want %q", round, got, model[first].id)
					}
					removeAt(first)
				}
				slots := s.slots
				if phase == 1 {
					s.shrink()
				}
				if s.slots != slots {
					rebuilds++
				}
				if step%64 == 0 || s.slots != slots {
					compare(fmt.Sprintf("round %d, phase %d, step %d", round, phase, step))
				}
				if len(model) >= high && grow || len(model) == 0 && !grow {
					break
				}
			}
			compare(fmt.Sprintf("round %d, end of phase %d", round, phase))
		}
		if rebuilds == 0 {
			t.Errorf("round %d: the storage was never rebuilt on the way down from %d", round, high)
		}
		if s.slots > shrinkMin {
			t.Errorf("round %d: %d slots left with %d pending", round, s.slots, s.len())
		}
	}
}
