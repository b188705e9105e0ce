package host

import "fmt"

// Platform is a sensor's operating system, as an event's routing plat
// field carries it.
type Platform uint32

// Platforms the built-in answers know; any other answers like Linux.
const (
	Windows Platform = 0x10000000
	Linux   Platform = 0x20000000
	MacOS   Platform = 0x30000000
)

// String names the platform, e.g. "windows".
func (p Platform) String() string {
	switch p {
	case Windows:
		return "windows"
	case Linux:
		return "linux"
	case MacOS:
		return "macos"
	}
	return fmt.Sprintf("Platform(%#x)", uint32(p))
}

// Dialect chooses, for the commands whose answer LimaCharlie's
// documentation describes twice, which description an answer follows.
type Dialect int

const (
	// EventsReference answers with the samples of the EDR events
	// reference: NETSTAT_REP, one OS_PROCESSES_REP listing every process,
	// PACKAGE_NAME and PACKAGE_VERSION, DIRECTORY_LIST entries with their
	// times and attributes, FILE_HASH_REP with a SIGNATURE.
	EventsReference Dialect = iota
	// CommandsReference answers with the samples of the endpoint commands
	// reference: NETWORK_CONNECTIONS with local and remote addresses, one
	// EXISTING_PROCESS per process, NAME, VERSION and PUBLISHER,
	// DIRECTORY_LIST entries with LAST_MODIFIED, FILE_HASH_REP with MD5,
	// SHA1 and SHA256.
	CommandsReference
)

// String names the dialect.
func (d Dialect) String() string {
	switch d {
	case EventsReference:
		return "events-reference"
	case CommandsReference:
		return "commands-reference"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}
