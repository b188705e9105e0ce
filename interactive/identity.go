package interactive

import (
	"context"
	"strconv"
	"sync"

	"github.com/google/uuid"
)

// Task identity. A task's id, which is also the idempotency key sent to
// the API, is derived from what caused it, so that handling the same
// message again tasks nothing twice, on this replica or another:
//
//   - in a webhook handler (event handlers, reply handlers, middleware):
//     from the service, the message (event type, organization, mid), the
//     sensor, the command line and how many tasks with that same sensor
//     and command line this handler invocation sent before. A handler
//     that, for the same message, tasks the same sensors with the same
//     commands gets the same ids, whatever order its goroutines run in.
//   - in a timeout handler: likewise, from the id of the task that timed
//     out (it fires once per process).
//   - anywhere else (a background goroutine): a random id.
//
// The ids are derived under a key from the shared secret, so nobody else
// can predict them and spend them first.

type originKey struct{}

// origin is what caused the tasks sent under a context: one handler
// invocation.
type origin struct {
	parts []string // identifies the invocation

	mu    sync.Mutex
	count map[[2]string]int // tasks sent per (sensor, command line)
}

// withOrigin returns ctx carrying a new origin identified by parts.
func withOrigin(ctx context.Context, parts ...string) context.Context {
	return context.WithValue(ctx, originKey{}, &origin{parts: parts})
}

// taskID returns the id of the next task to sid with command under ctx.
func (s *Service) taskID(ctx context.Context, sid, command string) uuid.UUID {
	o, _ := ctx.Value(originKey{}).(*origin)
	if o == nil {
		return uuid.New()
	}
	o.mu.Lock()
	if o.count == nil {
		o.count = map[[2]string]int{}
	}
	k := [2]string{sid, command}
	n := o.count[k]
	o.count[k] = n + 1
	o.mu.Unlock()
	parts := append(append(make([]string, 0, len(o.parts)+3), o.parts...), sid, command, strconv.Itoa(n))
	return s.codec.DeriveID(parts...)
}
