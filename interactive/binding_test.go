package interactive

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/service"
)

// A genuine investigation_id echoed in another organization, by another
// sensor, or in a routing that disagrees with its webhook's organization
// runs no user code and counts as refused.
func TestReplyBoundToItsOrgAndSensor(t *testing.T) {
	api := stubapi.New(t)
	var userCalls atomic.Int32
	h := newHarness(t, api, func(is *Service) {
		is.HandleReply("h", func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) })
		is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
			_, err := is.Task(ctx, req.Org(), req.SID(), "os_version", Via("h"),
				Then(func(context.Context, *Reply) service.Response { userCalls.Add(1); return service.OK(nil) }))
			if err != nil {
				return service.Fail(err)
			}
			return service.OK(nil)
		})
	})
	h.deliver(service.RequestEvent, map[string]any{"sid": testSID})
	task := api.Tasks()[0]
	const orgB, sensorY = "bbbbbbbb-2222-3333-4444-555555555555", "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"

	inOrgB := stubDetection(stubapi.Task{SID: sensorY, InvestigationID: task.InvestigationID}, "OS_VERSION_REP", map[string]any{})
	inOrgB["routing"].(map[string]any)["oid"] = orgB
	if res := h.deliverAs(orgB, service.Detection, inOrgB); !res.Success || len(res.Jobs) != 0 {
		t.Errorf("org B's detection: %+v", res)
	}
	sameOrgOtherSensor := stubDetection(stubapi.Task{SID: sensorY, InvestigationID: task.InvestigationID}, "OS_VERSION_REP", map[string]any{})
	h.deliver(service.Detection, sameOrgOtherSensor)
	routingOrgB := stubDetection(task, "OS_VERSION_REP", map[string]any{})
	routingOrgB["routing"].(map[string]any)["oid"] = orgB
	h.deliver(service.Detection, routingOrgB) // webhook of org A, routing saying org B
	webhookOrgB := stubDetection(task, "OS_VERSION_REP", map[string]any{})
	h.deliverAs(orgB, service.Detection, webhookOrgB) // webhook of org B, routing saying org A
	if n := userCalls.Load(); n != 0 {
		t.Fatalf("user code ran %d times for replies from elsewhere", n)
	}
	if st := h.is.Stats(); st.Refused != 4 || st.RoutedClosure+st.RoutedNamed+st.Orphans != 0 {
		t.Errorf("stats = %+v; want 4 refused, nothing routed", st)
	}
	// From its own sensor, in its own organization, it is routed.
	upper := stubDetection(task, "OS_VERSION_REP", map[string]any{})
	upper["routing"].(map[string]any)["sid"] = strings.ToUpper(testSID)
	h.deliver(service.Detection, upper)
	if n := userCalls.Load(); n != 1 {
		t.Errorf("genuine reply: %d user calls", n)
	}
}
