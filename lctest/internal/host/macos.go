package host

import (
	"fmt"
	"math/rand/v2"
)

// buildMacOS makes a macOS laptop: launchd, system daemons, the Dock, the
// Finder and Safari, and an app run from Downloads that started an agent
// from a hidden temporary directory, kept alive by a launch agent.
func buildMacOS(m *image, r *rand.Rand) {
	home := "/Users/" + m.user
	app := home + "/Downloads/" + pick(r, []string{"FlashPlayerInstaller", "VideoCodec", "CleanMyDisk"})
	agent := fmt.Sprintf("/private/tmp/.%s/agent", randomName(r, 6))
	specs := []procSpec{
		{"/sbin/launchd", "", "root", -1, false},
		{"/usr/libexec/logd", "", "root", 0, false},
		{"/usr/libexec/syspolicyd", "", "root", 0, false},
		{"/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", "", m.user, 0, false},
		{"/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder", "", m.user, 0, false},
		{"/Applications/Safari.app/Contents/MacOS/Safari", "", m.user, 0, false},
		{app, "", m.user, 4, true},
		{agent, "--background", m.user, 6, true},
	}
	m.addProcesses(r, specs, map[int]int{0: 1}, 1)
	m.services = []svc{
		{"com.apple.logd", "logd", true, "/usr/libexec/logd", "", ""},
		{"com.apple.security.syspolicy", "syspolicyd", true, "/usr/libexec/syspolicyd", "", ""},
		{"com.apple.Dock.agent", "Dock", true, "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", "", ""},
		{"com.openssh.sshd", "sshd", false, "/usr/sbin/sshd", "-i", ""},
	}
	m.autoruns = []autorun{
		{"/System/Library/LaunchDaemons/com.apple.logd.plist", "", "/usr/libexec/logd"},
		{home + "/Library/LaunchAgents/com.update.agent.plist", "", agent},
	}
	m.conns = []conn{
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 443, exe: "/Applications/Safari.app/Contents/MacOS/Safari", state: tcpEstablished},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: agent, state: tcpEstablished},
	}
	m.files = []string{home + "/Documents/passwords.txt", home + "/Documents/Invoice.pdf", "/etc/hosts"}
	m.version = [3]int{14, pick(r, []int{4, 5, 6}), 23000 + r.IntN(1000)}
}
