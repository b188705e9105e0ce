package tasking

import "encoding/json"

// ReplicantNamespace is the namespace the replicant rule lives in (Hive:
// dr-managed); the service needs dr.list, dr.set and dr.del on it.
const ReplicantNamespace = "managed"

// ReplicantRuleName returns the name of service's replicant rule,
// "svc-<service>-ex".
func ReplicantRuleName(service string) string { return "svc-" + service + "-ex" }

// ReplicantDetectionName returns the detection the replicant rule reports,
// "__svc-<service>-ex"; the service subscribes to it. The leading "__"
// keeps these detections out of the organization's Outputs.
func ReplicantDetectionName(service string) string { return "__" + ReplicantRuleName(service) }

// ReplicantPrefix returns the investigation_id prefix of service's tasks,
// "svc-<service>-ex/". The slash matters: without it service "a" would
// also catch the answers of service "a-extra" (svc-a-extra-ex/…).
func ReplicantPrefix(service string) string { return ReplicantRuleName(service) + "/" }

// ReplicantRule returns the D&R rule that sends every answer to service's
// tasks back to it as a detection: any event whose investigation_id starts
// with ReplicantPrefix(service), except the CLOUD_NOTIFICATION receipt,
// is reported as ReplicantDetectionName(service).
func ReplicantRule(service string) Rule {
	type op struct {
		Op    string `json:"op"`
		Not   bool   `json:"not,omitempty"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	type detect struct {
		Op    string `json:"op"`
		Rules []op   `json:"rules"`
	}
	type action struct {
		Action string `json:"action"`
		Name   string `json:"name"`
	}
	d := detect{Op: "and", Rules: []op{
		{Op: "starts with", Path: "routing/investigation_id", Value: ReplicantPrefix(service)},
		{Op: "is", Not: true, Path: "routing/event_type", Value: "CLOUD_NOTIFICATION"},
	}}
	r := []action{{Action: "report", Name: ReplicantDetectionName(service)}}
	return Rule{
		Name:      ReplicantRuleName(service),
		Namespace: ReplicantNamespace,
		Detect:    marshalPlain(d),
		Respond:   marshalPlain(r),
		Enabled:   true,
	}
}

// marshalPlain encodes values made only of strings, bools and slices of
// them, which json.Marshal cannot fail on.
func marshalPlain(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
