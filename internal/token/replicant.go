package token

// RuleName returns the name of service's replicant D&R rule,
// "svc-<service>-ex".
func RuleName(service string) string { return "svc-" + service + "-ex" }

// DetectionName returns the detection the replicant rule reports,
// "__svc-<service>-ex". The leading "__" keeps these detections out of the
// organization's Outputs.
func DetectionName(service string) string { return "__" + RuleName(service) }

// Prefix returns the investigation_id prefix of service's tasks,
// "svc-<service>-ex/". The slash matters: without it service "a" would also
// catch the answers of service "a-extra" (svc-a-extra-ex/…).
func Prefix(service string) string { return RuleName(service) + "/" }
