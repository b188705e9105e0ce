package lctest

import (
	"fmt"

	"github.com/lcsvc/lcservice/lctest/internal/host"
)

// Platform is a sensor's operating system, as the plat field of an
// event's routing carries it; String names it, e.g. "windows". Any other
// value is sent in routing as is and answered like Linux.
type Platform = host.Platform

// Platforms the built-in answers know.
const (
	Windows = host.Windows
	Linux   = host.Linux
	MacOS   = host.MacOS
)

// Arch is a sensor's CPU architecture, as the arch routing field carries it.
type Arch uint32

// Architectures.
const (
	X86   Arch = 1
	X64   Arch = 2
	ARM   Arch = 3
	ARM64 Arch = 4
)

// String names the architecture, e.g. "x64".
func (a Arch) String() string {
	switch a {
	case X86:
		return "x86"
	case X64:
		return "x64"
	case ARM:
		return "arm"
	case ARM64:
		return "arm64"
	}
	return fmt.Sprintf("Arch(%d)", uint32(a))
}

// Dialect chooses, for the commands whose answer LimaCharlie's
// documentation describes twice, which description a fake sensor's
// built-in answers follow (see "Fidelity" in the package documentation);
// String names it, e.g. "events-reference".
type Dialect = host.Dialect

const (
	// EventsReference, the default, answers as the samples of the EDR
	// events reference show: NETSTAT_REP; one OS_PROCESSES_REP listing
	// every process; packages with PACKAGE_NAME and PACKAGE_VERSION;
	// DIRECTORY_LIST entries with their times, attributes and streams;
	// FILE_HASH_REP with FILE_IS_SIGNED and SIGNATURE.
	EventsReference = host.EventsReference
	// CommandsReference answers as the samples of the endpoint commands
	// reference show: NETWORK_CONNECTIONS with local and remote addresses
	// and a STATE; one EXISTING_PROCESS per process; packages with NAME,
	// VERSION and PUBLISHER; DIRECTORY_LIST entries with FILE_PATH,
	// FILE_SIZE and LAST_MODIFIED (epoch seconds); FILE_HASH_REP with
	// MD5, SHA1 and SHA256.
	CommandsReference = host.CommandsReference
)
