package extension

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// Answer is a recorded answer to a delivery: its HTTP status and body.
type Answer struct {
	Status int
	Body   []byte
}

// ErrInProgress is returned by IdempotencyStore.Begin when another delivery
// with the same key is being handled. The transport answers it 500,
// retriable: the platform delivers again later and then gets the recorded
// answer.
var ErrInProgress = errors.New("extension: a delivery with this idempotency key is being handled")

// IdempotencyStore remembers which deliveries have been handled, so that a
// delivery the platform repeats (same idempotency_key) is handled once.
// MemoryIdempotency is the in-process implementation; a store shared by a
// service's replicas can replace it (WithIdempotencyStore).
//
// The transport calls Begin for every request, event, conf_validation and
// error_report that carries a key, then exactly one of Finish (the answer
// is final: a success or a failure not worth retrying) or Abandon (a
// retriable failure: the platform's next delivery is handled afresh).
type IdempotencyStore interface {
	// Begin claims key. It returns (nil, nil) when the caller now holds the
	// claim; the recorded answer when the key was handled already; or
	// ErrInProgress when another delivery holds the claim. Any other error
	// means the store could not answer, and the transport answers 500.
	Begin(ctx context.Context, key string) (*Answer, error)
	// Finish records the answer to key and releases the claim.
	Finish(ctx context.Context, key string, a Answer) error
	// Abandon releases the claim on key without recording anything.
	Abandon(ctx context.Context, key string) error
}

// Defaults of MemoryIdempotency.
const (
	DefaultIdempotencyKeys     = 10000
	DefaultIdempotencyTTL      = time.Hour
	DefaultIdempotencyBytes    = 16 << 20
	DefaultIdempotencyMaxEntry = 64 << 10
)

// MemoryIdempotencyOptions configure NewMemoryIdempotency; zero fields take
// the defaults.
type MemoryIdempotencyOptions struct {
	// Keys bounds the keys remembered (default 10000); past it, the least
	// recently used are forgotten.
	Keys int
	// TTL is how long a key is remembered (default 1 hour).
	TTL time.Duration
	// Bytes bounds the recorded answers' bodies together (default 16 MiB).
	Bytes int
	// MaxEntry is the largest body recorded (default 64 KiB): a larger
	// answer is remembered without its body, and a repeated delivery gets
	// a success with no data.
	MaxEntry int
	// Now is the time source (default time.Now), for tests.
	Now func() time.Time
}

// MemoryIdempotency is an IdempotencyStore in process memory: an LRU of keys
// with a TTL and a byte budget. It is safe for concurrent use.
type MemoryIdempotency struct {
	opts  MemoryIdempotencyOptions
	mu    sync.Mutex
	order *list.List // of *idemEntry, most recently used first
	keys  map[string]*list.Element
	bytes int
}

type idemEntry struct {
	key     string
	answer  *Answer // nil while in progress
	expires time.Time
}

// NewMemoryIdempotency returns an empty in-memory store.
func NewMemoryIdempotency(o MemoryIdempotencyOptions) *MemoryIdempotency {
	if o.Keys <= 0 {
		o.Keys = DefaultIdempotencyKeys
	}
	if o.TTL <= 0 {
		o.TTL = DefaultIdempotencyTTL
	}
	if o.Bytes <= 0 {
		o.Bytes = DefaultIdempotencyBytes
	}
	if o.MaxEntry <= 0 {
		o.MaxEntry = DefaultIdempotencyMaxEntry
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryIdempotency{opts: o, order: list.New(), keys: map[string]*list.Element{}}
}

// Begin implements IdempotencyStore.
func (m *MemoryIdempotency) Begin(_ context.Context, key string) (*Answer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	if el, ok := m.keys[key]; ok {
		e := el.Value.(*idemEntry)
		if now.Before(e.expires) {
			m.order.MoveToFront(el)
			if e.answer == nil {
				return nil, ErrInProgress
			}
			a := *e.answer
			return &a, nil
		}
		m.removeLocked(el)
	}
	m.keys[key] = m.order.PushFront(&idemEntry{key: key, expires: now.Add(m.opts.TTL)})
	m.trimLocked()
	return nil, nil
}

// Finish implements IdempotencyStore.
func (m *MemoryIdempotency) Finish(_ context.Context, key string, a Answer) error {
	if len(a.Body) > m.opts.MaxEntry {
		a.Body = nil
	} else {
		a.Body = append([]byte(nil), a.Body...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok {
		m.removeLocked(el)
	}
	m.keys[key] = m.order.PushFront(&idemEntry{key: key, answer: &a, expires: m.opts.Now().Add(m.opts.TTL)})
	m.bytes += len(a.Body)
	m.trimLocked()
	return nil
}

// Abandon implements IdempotencyStore.
func (m *MemoryIdempotency) Abandon(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok && el.Value.(*idemEntry).answer == nil {
		m.removeLocked(el)
	}
	return nil
}

// Len reports the keys remembered, in progress or answered.
func (m *MemoryIdempotency) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

func (m *MemoryIdempotency) removeLocked(el *list.Element) {
	e := el.Value.(*idemEntry)
	if e.answer != nil {
		m.bytes -= len(e.answer.Body)
	}
	delete(m.keys, e.key)
	m.order.Remove(el)
}

// trimLocked forgets the least recently used keys beyond the bounds.
func (m *MemoryIdempotency) trimLocked() {
	for len(m.keys) > m.opts.Keys || m.bytes > m.opts.Bytes {
		m.removeLocked(m.order.Back())
	}
}
