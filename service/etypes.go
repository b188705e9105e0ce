package service

// EventType is the etype of a webhook envelope: what happened.
type EventType string

// The event types the LimaCharlie cloud delivers.
const (
	Health          EventType = "health"
	OrgInstall      EventType = "org_install"
	OrgUninstall    EventType = "org_uninstall"
	Detection       EventType = "detection"
	RequestEvent    EventType = "request"
	GetResource     EventType = "get_resource"
	DeploymentEvent EventType = "deployment_event"
	LogEvent        EventType = "log_event"
	ServiceError    EventType = "service_error"
	NewSensor       EventType = "new_sensor"
	CommandEvent    EventType = "command"

	OrgPer1h  EventType = "org_per_1h"
	OrgPer3h  EventType = "org_per_3h"
	OrgPer12h EventType = "org_per_12h"
	OrgPer24h EventType = "org_per_24h"
	OrgPer7d  EventType = "org_per_7d"
	OrgPer30d EventType = "org_per_30d"

	OncePer1h  EventType = "once_per_1h"
	OncePer3h  EventType = "once_per_3h"
	OncePer12h EventType = "once_per_12h"
	OncePer24h EventType = "once_per_24h"
	OncePer7d  EventType = "once_per_7d"
	OncePer30d EventType = "once_per_30d"

	SensorPer1h  EventType = "sensor_per_1h"
	SensorPer3h  EventType = "sensor_per_3h"
	SensorPer12h EventType = "sensor_per_12h"
	SensorPer24h EventType = "sensor_per_24h"
	SensorPer7d  EventType = "sensor_per_7d"
	SensorPer30d EventType = "sensor_per_30d"
)

// EventTypes lists every etype of the protocol, health first, in a stable order.
func EventTypes() []EventType {
	return []EventType{
		Health, OrgInstall, OrgUninstall, Detection, RequestEvent, GetResource,
		DeploymentEvent, LogEvent, ServiceError, NewSensor, CommandEvent,
		OrgPer1h, OrgPer3h, OrgPer12h, OrgPer24h, OrgPer7d, OrgPer30d,
		OncePer1h, OncePer3h, OncePer12h, OncePer24h, OncePer7d, OncePer30d,
		SensorPer1h, SensorPer3h, SensorPer12h, SensorPer24h, SensorPer7d, SensorPer30d,
	}
}

// Known reports whether e is an event type of the protocol.
func (e EventType) Known() bool {
	for _, k := range EventTypes() {
		if k == e {
			return true
		}
	}
	return false
}

// Global reports whether e is delivered without an organization
// (health and the once_per_* ticks carry no oid).
func (e EventType) Global() bool {
	switch e {
	case Health, OncePer1h, OncePer3h, OncePer12h, OncePer24h, OncePer7d, OncePer30d:
		return true
	}
	return false
}

// Cron reports whether e is a periodic event type: org_per_*, once_per_*
// or sensor_per_*.
func (e EventType) Cron() bool {
	switch e {
	case OrgPer1h, OrgPer3h, OrgPer12h, OrgPer24h, OrgPer7d, OrgPer30d,
		OncePer1h, OncePer3h, OncePer12h, OncePer24h, OncePer7d, OncePer30d,
		SensorPer1h, SensorPer3h, SensorPer12h, SensorPer24h, SensorPer7d, SensorPer30d:
		return true
	}
	return false
}
