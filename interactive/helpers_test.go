package interactive

import (
	"time"
)

const (
	testSecret = "interactive-secret"
	testOID    = "11111111-2222-3333-4444-555555555555"
	testSID    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	testJWT    = "org-jwt"
)

// detection builds the detection the replicant rule reports for a sensor
// event answering the task with investigationID, in the detection
// stream's shape: detect is the bare event payload.
func detection(investigationID, eventType string, payload any) map[string]any {
	return map[string]any{
		"cat": "__svc-itest-ex", "source": "dr-managed", "source_rule": "svc-itest-ex",
		"namespace": "managed", "detect_id": "d1", "gen_time": time.Now().UnixMilli(),
		"routing": routing(investigationID, eventType), "detect": payload,
	}
}

// nestedDetection is detection in the older shape, detect holding
// {event, routing}, which the reference Python framework reads.
func nestedDetection(investigationID, eventType string, payload any) map[string]any {
	d := detection(investigationID, eventType, payload)
	d["detect"] = map[string]any{"event": payload, "routing": routing(investigationID, eventType)}
	return d
}

func routing(investigationID, eventType string) map[string]any {
	return map[string]any{
		"oid": testOID, "sid": testSID, "hostname": "host-1", "plat": uint32(Linux), "event_type": eventType,
		"event_time": time.Now().UnixMilli(), "event_id": "e1", "investigation_id": investigationID,
	}
}
