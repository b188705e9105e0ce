package service

import (
	"context"
	"math/bits"
	"sync"
	"time"
)

// The limits a Service applies to what reaches it before a signature has
// been checked. The package documentation's "Limits" section lists them
// all, with the options that change them.
const (
	// DefaultMaxBodyBytes is the largest webhook body accepted
	// (WithMaxBodyBytes). A larger Content-Length is answered 413 before
	// any of the body is read.
	DefaultMaxBodyBytes = 32 << 20
	// DefaultBodyBudget is how many bytes of bodies whose signature has not
	// been checked yet the whole process holds at once (WithBodyBudget),
	// when the body limit is the default; it is never less than twice the
	// body limit.
	DefaultBodyBudget = 64 << 20
	// DefaultMinBodyRate is the slowest a body may arrive, in bytes per
	// second, once bodyGrace has passed (WithMinBodyRate).
	DefaultMinBodyRate = 64 << 10
)

const (
	// bodyGrace is how long a body may take before DefaultMinBodyRate
	// applies; bodyStall is the longest a body may pause between two reads.
	// (Service.pace holds them, so tests can shorten them.)
	bodyGrace = 5 * time.Second
	bodyStall = 5 * time.Second
	// budgetWait is how long a body waits for room in the budget before it
	// is answered 503 with Retry-After.
	budgetWait = time.Second
	// retryAfterSeconds is the Retry-After of a 503.
	retryAfterSeconds = "2"
	// smallBody is the size up to which a body counts as small: small
	// bodies may use the part of the budget large ones may not (a
	// webhook is usually a few KiB), and their buffers are not pooled.
	smallBody = 64 << 10
	// readChunk bounds one read of a body, so the read deadline moves with
	// the data.
	readChunk = 256 << 10
)

// bodyBudget bounds the bytes held by request bodies that are being read
// or have not been authenticated yet, across every request of the process.
// An eighth of it is kept for small bodies, so large uploads that stall
// cannot crowd out ordinary webhooks.
type bodyBudget struct {
	mu      sync.Mutex
	limit   int64
	reserve int64 // the part only small bodies may use
	used    int64
	freed   chan struct{} // closed and replaced whenever bytes are released
}

func newBodyBudget(limit int64) *bodyBudget {
	return &bodyBudget{limit: limit, reserve: limit / 8, freed: make(chan struct{})}
}

func (b *bodyBudget) fitsLocked(n int64, small bool) bool {
	limit := b.limit
	if !small {
		limit -= b.reserve
	}
	return b.used+n <= limit
}

// acquire takes n bytes, waiting up to wait (or until ctx ends) for room.
// small says the whole body is small.
func (b *bodyBudget) acquire(ctx context.Context, n int64, small bool, wait time.Duration) bool {
	b.mu.Lock()
	if b.fitsLocked(n, small) {
		b.used += n
		b.mu.Unlock()
		return true
	}
	if wait <= 0 {
		b.mu.Unlock()
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
		b.mu.Lock()
		if b.fitsLocked(n, small) {
			b.used += n
			b.mu.Unlock()
			return true
		}
	}
}

// release returns n bytes.
func (b *bodyBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse reports the bytes held.
func (b *bodyBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// bufPool recycles the buffers of large bodies that failed authentication
// or were abandoned, so a flood of unsigned uploads reuses a few buffers
// instead of churning the heap. Small bodies are allocated exactly, and an
// accepted body's buffer is never recycled: the request's Data points into
// it for as long as handlers keep it.
//
// Sizes are classes: powers of two up to 1 MiB, whole MiB above.
type bufPool struct {
	classes []sync.Pool
}

const (
	poolMinShift = 17 // the smallest pooled class, 128 KiB
	poolPow2     = 4  // classes 128 KiB, 256 KiB, 512 KiB, 1 MiB
)

func newBufPool(maxBody int64) *bufPool {
	idx, _ := bufClass(max(maxBody, smallBody+1))
	return &bufPool{classes: make([]sync.Pool, idx+1)}
}

// bufClass returns the class of a body of n > smallBody bytes and the
// capacity of its buffers.
func bufClass(n int64) (idx int, size int64) {
	if n <= 1<<20 {
		shift := max(bits.Len64(uint64(n-1)), poolMinShift)
		return shift - poolMinShift, 1 << shift
	}
	mib := (n + 1<<20 - 1) >> 20
	return poolPow2 + int(mib-2), mib << 20
}

// size returns the bytes a body of n bytes occupies: what the budget counts.
func (p *bufPool) size(n int64) int64 {
	if n <= smallBody {
		return n
	}
	_, size := bufClass(n)
	return size
}

// get returns a buffer of length n.
func (p *bufPool) get(n int64) []byte {
	if n <= smallBody {
		return make([]byte, n)
	}
	idx, size := bufClass(n)
	if idx < len(p.classes) {
		if b, ok := p.classes[idx].Get().(*[]byte); ok {
			return (*b)[:n]
		}
	}
	return make([]byte, n, size)
}

// put recycles b, which nothing may use afterwards.
func (p *bufPool) put(b []byte) {
	if int64(cap(b)) <= smallBody {
		return
	}
	idx, size := bufClass(int64(cap(b)))
	if size != int64(cap(b)) || idx >= len(p.classes) {
		return
	}
	b = b[:0]
	p.classes[idx].Put(&b)
}
