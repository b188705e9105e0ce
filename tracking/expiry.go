package tracking

// The expiry heap: s.expiry is a binary min-heap of slots ordered by
// expiry, then by insertion, and each node knows its place in it (pos), so
// removing any entry costs O(log n) and leaves nothing behind.

// earlier reports whether a expires before b, or at the same time and was
// added first.
func earlier[V any](a, b *node[V]) bool {
	return a.expires < b.expires || a.expires == b.expires && a.seq < b.seq
}

// earliest returns the slot of the entry that expires first, or none.
func (s *pendingSet[V]) earliest() int32 {
	if len(s.expiry) == 0 {
		return none
	}
	return s.expiry[0]
}

// push adds slot i to the heap.
func (s *pendingSet[V]) push(i int32) {
	s.expiry = append(s.expiry, i)
	s.up(len(s.expiry) - 1)
}

// heapRemove takes the slot at place p out of the heap.
func (s *pendingSet[V]) heapRemove(p int) {
	last := len(s.expiry) - 1
	moved := s.expiry[last]
	s.expiry = s.expiry[:last]
	if p == last {
		return
	}
	s.expiry[p] = moved
	if s.down(p) == p {
		s.up(p)
	}
}

// up moves the slot at place p towards the root until its parent expires
// earlier, and returns where it ends.
func (s *pendingSet[V]) up(p int) int {
	h := s.expiry
	i := h[p]
	n := s.at(i)
	for p > 0 {
		q := (p - 1) / 2
		parent := s.at(h[q])
		if !earlier(n, parent) {
			break
		}
		h[p] = h[q]
		parent.pos = int32(p)
		p = q
	}
	h[p] = i
	n.pos = int32(p)
	return p
}

// down moves the slot at place p towards the leaves until both children
// expire later, and returns where it ends.
func (s *pendingSet[V]) down(p int) int {
	h := s.expiry
	i := h[p]
	n := s.at(i)
	for {
		c := 2*p + 1
		if c >= len(h) {
			break
		}
		child := s.at(h[c])
		if r := c + 1; r < len(h) {
			if right := s.at(h[r]); earlier(right, child) {
				c, child = r, right
			}
		}
		if !earlier(child, n) {
			break
		}
		h[p] = h[c]
		child.pos = int32(p)
		p = c
	}
	h[p] = i
	n.pos = int32(p)
	return p
}
