package tracking

import (
	"math"

	"github.com/lcsvc/lcservice/internal/uuidtext"
)

// uuidKey is an ID in canonical UUID form (see uuidtext), as a set keeps
// it. Any other ID, an uppercase UUID included, is kept as the string it
// is: IDs compare as strings.
type uuidKey [16]byte

// none marks a missing slot: the end of a list, an empty heap.
const none int32 = -1

// maxSlots is the most entries a table holds: slots are numbered by int32.
const maxSlots = math.MaxInt32

// The slab grows a chunk at a time, so growing copies at most one chunk
// and leaves at most one chunk's room unused.
const (
	chunkShift = 10
	chunkSize  = 1 << chunkShift
	chunkMask  = chunkSize - 1
)

// node is a pending entry as the table stores it.
type node[V any] struct {
	key     uuidKey // the ID, if in UUID form
	value   V
	created int64  // nanoseconds since the table's epoch
	expires int64  // nanoseconds since the table's epoch
	seq     uint64 // insertion order, to break ties between equal expiries
	replies int
	// The neighbours in recency order. A free slot's older is the next
	// free slot.
	newer, older int32
	pos          int32 // place in the expiry heap
	streaming    bool
	named        bool // the ID is not in UUID form: the set's names holds it
}

// pendingSet holds a table's entries: an index by ID, a recency list for
// eviction and an expiry heap for sweeping. A service may have a million
// tasks pending, so an entry is one node in a slab of chunks, linked and
// placed by int32 slot numbers rather than pointers, with its times as
// int64s, and an ID in UUID form is kept as 16 bytes in its node and as
// the index's key: besides the caller's value, such an entry costs its
// node, its slot in the index and four bytes of heap, and Add allocates
// nothing once the slab has room. Other IDs are kept as strings, in a
// second index and its reverse. A pendingSet knows nothing of locks,
// clocks or callbacks. Create one with newPendingSet.
type pendingSet[V any] struct {
	index  map[uuidKey]int32 // pending IDs in UUID form to their slots
	named  map[string]int32  // other pending IDs to their slots
	names  map[int32]string  // and back
	chunks [][]node[V]       // the slab: slot i is chunks[i>>chunkShift][i&chunkMask]
	slots  int               // slots handed out, free ones included
	free   int32             // the first free slot, or none
	newest int32             // recency list ends, or none
	oldest int32
	expiry []int32 // min-heap of slots by expiry, then insertion
	seq    uint64
	peak   int // the most entries held since the storage was last rebuilt
}

func newPendingSet[V any](size int) pendingSet[V] {
	return pendingSet[V]{index: make(map[uuidKey]int32, size), free: none, newest: none, oldest: none}
}

// len returns the number of entries.
func (s *pendingSet[V]) len() int { return len(s.index) + len(s.named) }

// at returns the node in slot i. The pointer is valid until the next
// insert, which may grow the slab.
func (s *pendingSet[V]) at(i int32) *node[V] { return &s.chunks[i>>chunkShift][i&chunkMask] }

// pendingID is an ID as a set indexes it: the bytes of an ID in UUID form,
// or the string of any other.
type pendingID struct {
	key   uuidKey
	name  string // the ID if not in UUID form
	named bool   // not in UUID form
}

func pendingIDOf(id string) pendingID {
	if k, ok := uuidtext.Parse(id); ok {
		return pendingID{key: k}
	}
	return pendingID{name: id, named: true}
}

// lookup returns the slot of the entry id.
func (s *pendingSet[V]) lookup(id string) (int32, bool) { return s.find(pendingIDOf(id)) }

// find returns the slot of the entry id.
func (s *pendingSet[V]) find(id pendingID) (int32, bool) {
	if id.named {
		i, ok := s.named[id.name]
		return i, ok
	}
	i, ok := s.index[id.key]
	return i, ok
}

// id returns the ID of the entry in slot i. An ID in UUID form is made
// anew: a string allocation.
func (s *pendingSet[V]) id(i int32) string {
	if n := s.at(i); !n.named {
		return uuidtext.Format(n.key)
	}
	return s.names[i]
}

// insert stores n as the newest entry, with the given id, and returns its
// slot. id must not be pending, and the set must hold fewer than maxSlots
// entries.
func (s *pendingSet[V]) insert(id pendingID, n node[V]) int32 {
	i := s.alloc()
	s.seq++
	n.seq = s.seq
	n.newer, n.older = none, s.newest
	n.key, n.named = id.key, id.named
	*s.at(i) = n
	if s.newest != none {
		s.at(s.newest).newer = i
	} else {
		s.oldest = i
	}
	s.newest = i
	if n.named {
		s.name(i, id.name)
	} else {
		s.index[n.key] = i
	}
	s.push(i)
	s.peak = max(s.peak, s.len())
	return i
}

// name indexes the entry in slot i by id, which is not in UUID form.
func (s *pendingSet[V]) name(i int32, id string) {
	if s.named == nil {
		s.named, s.names = make(map[string]int32), make(map[int32]string)
	}
	s.named[id] = i
	s.names[i] = id
}

// alloc returns a free slot, growing the slab if none is left.
func (s *pendingSet[V]) alloc() int32 {
	if i := s.free; i != none {
		s.free = s.at(i).older
		return i
	}
	i := s.slots
	c := i >> chunkShift
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, nil)
	}
	chunk := s.chunks[c]
	if len(chunk) == cap(chunk) {
		// Doubled, up to chunkSize exactly: append would grow a full
		// chunk's room past it, by a tenth.
		grown := make([]node[V], len(chunk), min(max(2*cap(chunk), 8), chunkSize))
		copy(grown, chunk)
		chunk = grown
	}
	s.chunks[c] = append(chunk, node[V]{})
	s.slots++
	return int32(i)
}

// remove takes the entry in slot i out of the index, the recency list and
// the expiry heap, and frees the slot, letting go of its ID and value.
func (s *pendingSet[V]) remove(i int32) {
	n := s.at(i)
	if n.named {
		delete(s.named, s.names[i])
		delete(s.names, i)
	} else {
		delete(s.index, n.key)
	}
	s.unlink(i)
	s.heapRemove(int(n.pos))
	*n = node[V]{older: s.free}
	s.free = i
}

// unlink takes slot i out of the recency list.
func (s *pendingSet[V]) unlink(i int32) {
	n := s.at(i)
	if n.newer != none {
		s.at(n.newer).older = n.older
	} else {
		s.newest = n.older
	}
	if n.older != none {
		s.at(n.older).newer = n.newer
	} else {
		s.oldest = n.newer
	}
}

// touch makes the entry in slot i the most recently used.
func (s *pendingSet[V]) touch(i int32) {
	if s.newest == i {
		return
	}
	s.unlink(i) // i is not the newest, so the list keeps a newest
	n := s.at(i)
	n.newer, n.older = none, s.newest
	s.at(s.newest).newer = i
	s.newest = i
}

// shrinkMin is the size below which a set never rebuilds its storage.
const shrinkMin = 1024

// shrink gives memory back after a burst. A Go map keeps the room of the
// most entries it ever held, and the slab and heap theirs, so once the set
// holds less than a quarter of its peak, all are rebuilt at their present
// size. Each rebuild costs as many moves as the entries kept, fewer than
// the removals since the last one. Slots are renumbered.
func (s *pendingSet[V]) shrink() {
	n := s.len()
	if s.peak < shrinkMin || n >= s.peak/4 {
		return
	}
	fresh := newPendingSet[V](n)
	for c := 0; c < n; c += chunkSize {
		fresh.chunks = append(fresh.chunks, make([]node[V], 0, min(chunkSize, n-c)))
	}
	// Oldest first, so the recency order is kept; each old node's older
	// then records its new slot, for the heap.
	for i := s.oldest; i != none; {
		old := s.at(i)
		next := old.newer
		j := fresh.alloc()
		nn := fresh.at(j)
		*nn = *old
		nn.newer, nn.older = none, fresh.newest
		if fresh.newest != none {
			fresh.at(fresh.newest).newer = j
		} else {
			fresh.oldest = j
		}
		fresh.newest = j
		if nn.named {
			fresh.name(j, s.names[i])
		} else {
			fresh.index[nn.key] = j
		}
		old.older = j
		i = next
	}
	// The heap keeps its shape, so each node its pos, under the new
	// numbering.
	fresh.expiry = make([]int32, len(s.expiry))
	for p, i := range s.expiry {
		fresh.expiry[p] = s.at(i).older
	}
	fresh.seq = s.seq
	fresh.peak = n
	*s = fresh
}
