package interactive

import "fmt"

// Platform is a sensor's operating system, as the routing field plat
// carries it.
type Platform uint32

// The platforms of LimaCharlie sensors.
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
