package extension

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits the platform puts on continuations.
const (
	// MaxContinuationDelay is the longest delay of one continuation.
	MaxContinuationDelay = 300 * time.Second
	// MaxContinuationLevel is how deep continuations chain: a message
	// delivered as the 10th continuation of a chain may not ask for an 11th.
	MaxContinuationLevel = 10
	// MaxContinuations is the most continuations one response may carry.
	MaxContinuations = 100
)

// Continuation asks the platform to deliver the extension request Action
// again after Delay, with State as its data. The platform keeps the timer,
// so the request arrives even if the process that asked is gone, on
// whichever replica receives it: a durable timer, in steps of at most
// MaxContinuationDelay.
type Continuation struct {
	// Delay is rounded up to whole seconds; at most MaxContinuationDelay.
	Delay time.Duration
	// Action is the action delivered, usually an internal one registered
	// with Transport.HandleAction.
	Action string
	// State is marshalled to a JSON object and delivered as the data.
	State any
}

// Errors Continue returns.
var (
	// ErrNoMessage: ctx does not belong to an extension message still being
	// handled (the service protocol, background work, or a handler that
	// has already returned).
	ErrNoMessage = errors.New("extension: no extension message is being handled with this context")
	// ErrContinuationLimit: the response cannot carry the continuation
	// without breaking a platform limit (depth or count).
	ErrContinuationLimit = errors.New("extension: continuation limit reached")
)

// Continue adds c to the response of the extension message ctx belongs to
// (the ctx a handler or reply handler was given). It fails with ErrNoMessage
// when there is no such message, ErrContinuationLimit when the message is
// already the last level of a chain or the response already carries
// MaxContinuations, and another error when c is invalid.
func Continue(ctx context.Context, c Continuation) error {
	st, _ := ctx.Value(stateKey{}).(*msgState)
	if st == nil {
		return ErrNoMessage
	}
	switch {
	case c.Action == "":
		return errors.New("extension: Continuation.Action is empty")
	case c.Delay < 0 || c.Delay > MaxContinuationDelay:
		return fmt.Errorf("extension: continuation delay %v: use 0 to %v", c.Delay, MaxContinuationDelay)
	}
	state := json.RawMessage("{}")
	if c.State != nil {
		b, err := json.Marshal(c.State)
		if err != nil {
			return fmt.Errorf("extension: continuation state: %w", err)
		}
		if len(b) == 0 || b[0] != '{' {
			return fmt.Errorf("extension: continuation state must be a JSON object, got %.40s", b)
		}
		state = b
	}
	secs := uint64((c.Delay + time.Second - 1) / time.Second)
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.sealed:
		return ErrNoMessage
	case st.level >= MaxContinuationLevel:
		return fmt.Errorf("%w: this message is continuation level %d of %d", ErrContinuationLimit, st.level, MaxContinuationLevel)
	case len(st.conts) >= MaxContinuations:
		return fmt.Errorf("%w: the response already carries %d continuations", ErrContinuationLimit, MaxContinuations)
	}
	st.conts = append(st.conts, continuation{InDelaySec: secs, Action: c.Action, State: state})
	return nil
}

// Level returns the continuation level of the extension message ctx belongs
// to: 0 for a message the platform sent of its own accord, n for the n-th
// continuation of a chain. It is -1 when ctx belongs to no extension message.
func Level(ctx context.Context) int {
	st, _ := ctx.Value(stateKey{}).(*msgState)
	if st == nil {
		return -1
	}
	return st.level
}

type stateKey struct{}

// msgState collects what handlers add to the response of one message.
type msgState struct {
	mu     sync.Mutex
	level  int
	conts  []continuation
	sealed bool
}

func withMessage(ctx context.Context, idempotencyKey string) (context.Context, *msgState) {
	st := &msgState{level: levelOf(idempotencyKey)}
	return context.WithValue(ctx, stateKey{}, st), st
}

// seal ends the message: later Continue calls fail, and the collected
// continuations are returned.
func (st *msgState) seal() []continuation {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sealed = true
	return st.conts
}

// levelOf reads the continuation level from an idempotency key: the platform
// keys the n-th continuation of a delivery "<parent key>:<n>". A suffix
// that cannot be a level (not 1 to MaxContinuationLevel) is part of the key.
func levelOf(key string) int {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(key[i+1:])
	if err != nil || n < 1 || n > MaxContinuationLevel {
		return 0
	}
	return n
}
