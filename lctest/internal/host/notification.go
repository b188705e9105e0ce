package host

import "strings"

// notificationIDs maps a command to the NOTIFICATION_ID of the
// CLOUD_NOTIFICATION the sensor sends on receiving it: the name of the
// sensor's request, which is not always the command's name.
var notificationIDs = map[string]string{
	"dir_list":        "DIR_LIST_REQ",
	"exfil_add":       "ADD_EXFIL_EVENT_REQ",
	"exfil_del":       "DEL_EXFIL_EVENT_REQ",
	"exfil_get":       "GET_EXFIL_EVENT_REQ",
	"file_del":        "FILE_DEL_REQ",
	"file_get":        "FILE_GET_REQ",
	"file_hash":       "FILE_HASH_REQ",
	"file_info":       "FILE_INFO_REQ",
	"file_mov":        "FILE_MOV_REQ",
	"history_dump":    "HISTORY_DUMP_REQ",
	"os_autoruns":     "OS_AUTORUNS_REQ",
	"os_drivers":      "OS_DRIVERS_REQ",
	"os_kill_process": "OS_KILL_PROCESS_REQ",
	"os_packages":     "OS_PACKAGES_REQ",
	"os_processes":    "OS_PROCESSES_REQ",
	"os_services":     "OS_SERVICES_REQ",
	"os_users":        "OS_USERS_REQ",
	"os_version":      "OS_VERSION_REQ",
	"yara_scan":       "YARA_SCAN",
}

// Ident is the identity of a sensor, as HCP_IDENT carries it.
type Ident struct {
	OID, SID, IID string // UUIDs
	Platform      Platform
	Arch          uint32
}

// Notification returns the CLOUD_NOTIFICATION a sensor sends when it
// receives command (its name, or the first word of a line it could not
// parse), tasked with investigationID: NOTIFICATION_ID, NOTIFICATION
// holding the INVESTIGATION_ID, the sensor's HCP_IDENT (ids as 32 hex
// digits) and EXPIRY, 0 for a task that does not expire.
func Notification(command, investigationID string, id Ident) Event {
	nid, ok := notificationIDs[command]
	if !ok {
		nid = strings.ToUpper(command) + "_REQ"
	}
	return Event{Type: "CLOUD_NOTIFICATION", Payload: map[string]any{
		"NOTIFICATION_ID": nid,
		"NOTIFICATION":    map[string]any{"INVESTIGATION_ID": investigationID},
		"HCP_IDENT": map[string]any{
			"HCP_ORG_ID":       hexID(id.OID),
			"HCP_SENSOR_ID":    hexID(id.SID),
			"HCP_INSTALLER_ID": hexID(id.IID),
			"HCP_ARCHITECTURE": id.Arch,
			"HCP_PLATFORM":     uint32(id.Platform),
		},
		"EXPIRY": 0,
	}}
}

// hexID writes a UUID as HCP_IDENT does: its 32 hex digits, no dashes.
func hexID(uuid string) string {
	if uuid == "" {
		return strings.Repeat("0", 32)
	}
	return strings.ReplaceAll(uuid, "-", "")
}
