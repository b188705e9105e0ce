package lctest

import "fmt"

// Platform is a sensor's operating system, as the plat field of an
// event's routing carries it.
type Platform uint32

// Platforms the built-in answers know.
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
