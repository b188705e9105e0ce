package interactive_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// A task sent with Via and no closure times out through the timeout handler
// registered under the same name, with the task's state.
func TestNamedTimeoutHandlerRunsWithoutAClosure(t *testing.T) {
	clock := tracking.NewManualClock(time.Now())
	var named atomic.Int32
	var got *interactive.Timeout
	w := newWorld(t, config{opts: []interactive.Option{interactive.WithClock(clock)}}, func(is *interactive.Service) {
		is.HandleReply("h", func(context.Context, *interactive.Reply) service.Response { return service.OK(nil) })
		is.HandleTimeout("h", func(ctx context.Context, to *interactive.Timeout) {
			named.Add(1)
			got = to
		})
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			if _, err := is.Task(ctx, req.Org(), req.SID(), "os_users", interactive.TTL(time.Minute), interactive.Via("h"), interactive.WithState(map[string]int{"n": 7})); err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	w.host.SetOnline(false)
	w.request(t, map[string]any{"sid": w.host.SID})
	clock.Advance(2 * time.Minute)
	var st struct{ N int }
	if named.Load() != 1 || got == nil || got.SID != w.host.SID || got.Command != "os_users" || got.State(&st) != nil || st.N != 7 {
		t.Errorf("named timeout: %d %+v", named.Load(), got)
	}
}
