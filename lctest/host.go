package lctest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// hostImage is the fake machine behind a sensor's built-in answers: its
// users, processes, packages, services, autoruns and connections, all
// derived from the hostname and platform so every run sees the same host.
type hostImage struct {
	hostname string
	platform Platform
	user     string // the interactive user
	users    []string
	procs    []process
	packages []pkg
	services []svc
	autoruns []autorun
	conns    []conn
	files    []string // paths dir_list can find
	version  [3]int   // major, minor, build
}

type process struct {
	pid, ppid  int
	path       string
	cmdline    string
	user       string
	suspicious bool // outside the system directories
}

type pkg struct{ name, version string }

type svc struct {
	name, display string
	running       bool
	exe           string // the process image, for PROCESS_ID
	args          string
}

type autorun struct{ key, path string }

type conn struct {
	proto         string
	srcIP         string
	srcPort       int
	dstIP         string
	dstPort       int
	exe           string // owning process image
	state         int
	nthOfSameExec int // which process of that image, for repeated images
}

// TCP states as the MIB numbers them; the sensor reports them so.
const (
	tcpListen      = 2
	tcpEstablished = 5
)

func newHostImage(hostname string, p Platform) *hostImage {
	r := seeded("host", hostname, p.String())
	h := &hostImage{hostname: hostname, platform: p}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	h.user = names[0]
	switch p {
	case Windows:
		buildWindows(h, r)
	case MacOS:
		buildMacOS(h, r)
	default:
		buildLinux(h, r)
	}
	// Users: the interactive one, another, and the platform's own.
	h.users = append(h.users, h.user, names[1])
	h.packages = pickPackages(r, packageCatalog(p))
	for _, pr := range h.procs {
		h.files = appendUnique(h.files, pr.path)
	}
	for _, a := range h.autoruns {
		h.files = appendUnique(h.files, a.path)
	}
	return h
}

// procSpec describes a process before it has a PID; parent indexes specs.
type procSpec struct {
	path, args, user string
	parent           int // index into the specs, or -1
	suspicious       bool
}

// addProcesses assigns PIDs to specs: fixed ones from fixed (by index)
// and otherwise random multiples of step, all distinct.
func (h *hostImage) addProcesses(r *rand.Rand, specs []procSpec, fixed map[int]int, step int) {
	used := map[int]bool{}
	pids := make([]int, len(specs))
	for i := range specs {
		pid, ok := fixed[i]
		for !ok || used[pid] {
			pid, ok = (100+r.IntN(9000))*step, true
		}
		used[pid] = true
		pids[i] = pid
	}
	for i, s := range specs {
		ppid := 0
		if s.parent >= 0 {
			ppid = pids[s.parent]
		}
		cmd := s.path
		if strings.Contains(cmd, " ") {
			cmd = `"` + cmd + `"`
		}
		if s.args != "" {
			cmd += " " + s.args
		}
		h.procs = append(h.procs, process{pid: pids[i], ppid: ppid, path: s.path, cmdline: cmd, user: s.user, suspicious: s.suspicious})
	}
}

func buildWindows(h *hostImage, r *rand.Rand) {
	const system, local = `NT AUTHORITY\SYSTEM`, `NT AUTHORITY\LOCAL SERVICE`
	user := strings.ToUpper(h.hostname) + `\` + h.user
	home := `C:\Users\` + h.user
	dropper := fmt.Sprintf(`%s\Downloads\invoice_%04d.exe`, home, r.IntN(10000))
	updater := fmt.Sprintf(`%s\AppData\Local\Temp\%s\updater.exe`, home, randomName(r, 8))
	specs := []procSpec{
		{`C:\Windows\System32\smss.exe`, "", system, -1, false},
		{`C:\Windows\System32\csrss.exe`, "ObjectDirectory=\\Windows SharedSection=1024,20480,768", system, -1, false},
		{`C:\Windows\System32\wininit.exe`, "", system, -1, false},
		{`C:\Windows\System32\services.exe`, "", system, 2, false},
		{`C:\Windows\System32\lsass.exe`, "", system, 2, false},
		{`C:\Windows\System32\svchost.exe`, "-k netsvcs -p", system, 3, false},
		{`C:\Windows\System32\svchost.exe`, "-k LocalService -p", local, 3, false},
		{`C:\Windows\System32\spoolsv.exe`, "", system, 3, false},
		{`C:\Program Files\Windows Defender\MsMpEng.exe`, "", system, 3, false},
		{`C:\Windows\explorer.exe`, "", user, -1, false},
		{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "", user, 9, false},
		{dropper, "", user, 9, true},
		{updater, "--silent --hidden", user, 11, true},
	}
	h.addProcesses(r, specs, nil, 4)
	h.services = []svc{
		{"Dnscache", "DNS Client", true, `C:\Windows\System32\svchost.exe`, "-k netsvcs -p"},
		{"EventLog", "Windows Event Log", true, `C:\Windows\System32\svchost.exe`, "-k LocalService -p"},
		{"Spooler", "Print Spooler", true, `C:\Windows\System32\spoolsv.exe`, ""},
		{"WinDefend", "Microsoft Defender Antivirus Service", true, `C:\Program Files\Windows Defender\MsMpEng.exe`, ""},
		{"wuauserv", "Windows Update", false, `C:\Windows\System32\svchost.exe`, "-k netsvcs -p"},
		{"RemoteRegistry", "Remote Registry", false, `C:\Windows\System32\svchost.exe`, "-k localService -p"},
	}
	h.autoruns = []autorun{
		{`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\SecurityHealth`, `C:\Windows\System32\SecurityHealthSystray.exe`},
		{`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\GoogleChromeAutoLaunch`, `C:\Program Files\Google\Chrome\Application\chrome.exe`},
		{`HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\Updater`, updater},
	}
	h.conns = []conn{
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 135, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, state: tcpListen},
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 445, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, state: tcpListen},
		{proto: "udp4", srcIP: "0.0.0.0", srcPort: 5353, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, nthOfSameExec: 1},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 443, exe: `C:\Program Files\Google\Chrome\Application\chrome.exe`, state: tcpEstablished},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: updater, state: tcpEstablished},
	}
	h.files = []string{
		home + `\Documents\quarterly-report.docx`, home + `\Documents\budget.xlsx`,
		home + `\Downloads\setup.msi`, `C:\Windows\System32\drivers\etc\hosts`,
	}
	h.version = [3]int{10, 0, pick(r, []int{19045, 22621, 22631, 26100})}
}

func buildLinux(h *hostImage, r *rand.Rand) {
	home := "/home/" + h.user
	hidden := fmt.Sprintf("/tmp/.cache-%s/kworkerd", randomName(r, 6))
	tool := home + "/Downloads/" + pick(r, []string{"backup-tool", "sysupdate", "netcheck"})
	specs := []procSpec{
		{"/usr/lib/systemd/systemd", "--system --deserialize 42", "root", -1, false},
		{"/usr/lib/systemd/systemd-journald", "", "root", 0, false},
		{"/usr/sbin/sshd", "-D", "root", 0, false},
		{"/usr/sbin/cron", "-f", "root", 0, false},
		{"/usr/sbin/nginx", "-g daemon on; master_process on;", "root", 0, false},
		{"/usr/sbin/nginx", "-g daemon on; master_process on;", "www-data", 4, false},
		{"/usr/bin/bash", "", h.user, 2, false},
		{tool, "--daemon", h.user, 6, true},
		{hidden, "", h.user, 7, true},
	}
	h.addProcesses(r, specs, map[int]int{0: 1}, 1)
	h.services = []svc{
		{"ssh.service", "OpenBSD Secure Shell server", true, "/usr/sbin/sshd", "-D"},
		{"cron.service", "Regular background program processing daemon", true, "/usr/sbin/cron", "-f"},
		{"nginx.service", "A high performance web server and a reverse proxy server", true, "/usr/sbin/nginx", ""},
		{"systemd-journald.service", "Journal Service", true, "/usr/lib/systemd/systemd-journald", ""},
		{"ufw.service", "Uncomplicated firewall", false, "/usr/lib/ufw/ufw-init", "start"},
	}
	h.autoruns = []autorun{
		{"/etc/systemd/system/multi-user.target.wants/ssh.service", "/usr/sbin/sshd"},
		{"/etc/systemd/system/multi-user.target.wants/nginx.service", "/usr/sbin/nginx"},
		{"/var/spool/cron/crontabs/" + h.user, hidden},
	}
	h.conns = []conn{
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 22, dstIP: "0.0.0.0", exe: "/usr/sbin/sshd", state: tcpListen},
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 80, dstIP: "0.0.0.0", exe: "/usr/sbin/nginx", state: tcpListen},
		{proto: "tcp4", srcPort: 22, dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 32768 + r.IntN(20000), exe: "/usr/sbin/sshd", state: tcpEstablished},
		{proto: "tcp4", srcPort: 32768 + r.IntN(20000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: hidden, state: tcpEstablished},
	}
	h.files = []string{home + "/notes.txt", home + "/.bashrc", "/etc/hosts", "/etc/passwd", "/etc/ssh/sshd_config"}
	h.version = [3]int{6, pick(r, []int{1, 5, 8}), 10 + r.IntN(90)}
}

func buildMacOS(h *hostImage, r *rand.Rand) {
	home := "/Users/" + h.user
	app := home + "/Downloads/" + pick(r, []string{"FlashPlayerInstaller", "VideoCodec", "CleanMyDisk"})
	agent := fmt.Sprintf("/private/tmp/.%s/agent", randomName(r, 6))
	specs := []procSpec{
		{"/sbin/launchd", "", "root", -1, false},
		{"/usr/libexec/logd", "", "root", 0, false},
		{"/usr/libexec/syspolicyd", "", "root", 0, false},
		{"/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", "", h.user, 0, false},
		{"/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder", "", h.user, 0, false},
		{"/Applications/Safari.app/Contents/MacOS/Safari", "", h.user, 0, false},
		{app, "", h.user, 4, true},
		{agent, "--background", h.user, 6, true},
	}
	h.addProcesses(r, specs, map[int]int{0: 1}, 1)
	h.services = []svc{
		{"com.apple.logd", "logd", true, "/usr/libexec/logd", ""},
		{"com.apple.security.syspolicy", "syspolicyd", true, "/usr/libexec/syspolicyd", ""},
		{"com.apple.Dock.agent", "Dock", true, "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", ""},
		{"com.openssh.sshd", "sshd", false, "/usr/sbin/sshd", "-i"},
	}
	h.autoruns = []autorun{
		{"/System/Library/LaunchDaemons/com.apple.logd.plist", "/usr/libexec/logd"},
		{home + "/Library/LaunchAgents/com.update.agent.plist", agent},
	}
	h.conns = []conn{
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 443, exe: "/Applications/Safari.app/Contents/MacOS/Safari", state: tcpEstablished},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: agent, state: tcpEstablished},
	}
	h.files = []string{home + "/Documents/passwords.txt", home + "/Documents/Invoice.pdf", "/etc/hosts"}
	h.version = [3]int{14, pick(r, []int{4, 5, 6}), 23000 + r.IntN(1000)}
}

func packageCatalog(p Platform) []pkg {
	switch p {
	case Windows:
		return []pkg{
			{"Google Chrome", "126.0.6478.127"}, {"Microsoft Edge", "126.0.2592.87"},
			{"7-Zip 23.01 (x64)", "23.01"}, {"Microsoft Visual C++ 2015-2022 Redistributable (x64)", "14.38.33135.0"},
			{"Mozilla Firefox (x64 en-US)", "127.0.2"}, {"Notepad++ (64-bit x64)", "8.6.8"},
			{"Python 3.12.4 (64-bit)", "3.12.4150.0"}, {"Git", "2.45.2"},
			{"Microsoft Teams", "24124.2315.2911.3357"}, {"Zoom Workplace (64-bit)", "6.1.1"},
		}
	case MacOS:
		return []pkg{
			{"Safari", "17.5"}, {"Google Chrome", "126.0.6478.127"}, {"Slack", "4.38.125"},
			{"Xcode", "15.4"}, {"zoom.us", "6.1.1"}, {"Visual Studio Code", "1.90.2"},
			{"Firefox", "127.0.2"}, {"1Password", "8.10.36"},
		}
	default:
		return []pkg{
			{"openssl", "3.0.13-0ubuntu3.1"}, {"openssh-server", "1:9.6p1-3ubuntu13.3"}, {"bash", "5.2.21-2ubuntu4"},
			{"coreutils", "9.4-3ubuntu6"}, {"nginx", "1.24.0-2ubuntu7"}, {"curl", "8.5.0-2ubuntu10.1"},
			{"python3", "3.12.3-0ubuntu1"}, {"sudo", "1.9.15p5-3ubuntu5"}, {"systemd", "255.4-1ubuntu8.1"},
			{"cron", "3.0pl1-184ubuntu2"},
		}
	}
}

// pickPackages keeps most of catalog, in catalog order, always at least 5.
func pickPackages(r *rand.Rand, catalog []pkg) []pkg {
	var out []pkg
	for i, p := range catalog {
		if i < 5 || r.IntN(3) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func randomName(r *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// hasProcess reports whether pid is one of the host's processes.
func (h *hostImage) hasProcess(pid int) bool {
	_, ok := h.process(pid)
	return ok
}

func (h *hostImage) process(pid int) (process, bool) {
	for _, p := range h.procs {
		if p.pid == pid {
			return p, true
		}
	}
	return process{}, false
}

// pidOf returns the PID of the nth process (from 0) running image exe,
// or 0 when there is none.
func (h *hostImage) pidOf(exe string, nth int) int {
	for _, p := range h.procs {
		if p.path == exe {
			if nth == 0 {
				return p.pid
			}
			nth--
		}
	}
	return 0
}
