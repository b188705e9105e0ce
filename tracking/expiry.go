package tracking

import "time"

// item is a pending entry as the table stores it: the entry plus its place
// in the expiry queue, so removing it for any reason is O(log n) and leaves
// nothing behind.
type item[V any] struct {
	entry Entry[V]
	seq   uint64 // insertion order, to break ties between equal expiries
	index int    // position in expiryQueue
}

// expiryQueue is a min-heap of pending items by expiry, for container/heap.
type expiryQueue[V any] []*item[V]

func (q expiryQueue[V]) Len() int { return len(q) }

func (q expiryQueue[V]) Less(i, j int) bool {
	a, b := q[i], q[j]
	if !a.entry.Expires.Equal(b.entry.Expires) {
		return a.entry.Expires.Before(b.entry.Expires)
	}
	return a.seq < b.seq
}

func (q expiryQueue[V]) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *expiryQueue[V]) Push(x any) {
	it := x.(*item[V])
	it.index = len(*q)
	*q = append(*q, it)
}

func (q *expiryQueue[V]) Pop() any {
	old := *q
	n := len(old) - 1
	it := old[n]
	old[n] = nil // let the item be collected
	it.index = -1
	*q = old[:n]
	return it
}

// due reports whether the earliest item has expired at now.
func (q expiryQueue[V]) due(now time.Time) bool {
	return len(q) > 0 && q[0].entry.expired(now)
}
