package host

import (
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// image is what a host is made of: its users, processes, packages,
// services, autoruns, connections and files, all derived from the
// hostname and platform. It does not change once built.
type image struct {
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
	version  [3]int   // major, minor, build; OS_VERSION_REP reports the build
}

type process struct {
	pid, ppid  int
	path       string
	cmdline    string
	user       string
	suspicious bool // outside the system directories
}

// pkg is an installed package; version is empty when the package
// database records none, as some Windows uninstall entries do.
type pkg struct{ name, version, publisher string }

type svc struct {
	name, display string
	running       bool
	exe           string // the process image, for PROCESS_ID and HASH
	args          string
	// dll is the service DLL a shared host process (svchost) loads, as
	// the registry names it; empty for a service with its own process.
	dll string
}

// autorun is a program started at boot or logon: where it is registered,
// the value registered (a command line; empty when it is just path) and
// the file it runs.
type autorun struct{ key, value, path string }

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

// TCP states as the MIB numbers them.
const (
	tcpListen      = 2
	tcpEstablished = 5
)

func newImage(hostname string, p Platform) *image {
	r := seeded("host", hostname, p.String())
	m := &image{hostname: hostname, platform: p}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	m.user = names[0]
	switch p {
	case Windows:
		buildWindows(m, r)
	case MacOS:
		buildMacOS(m, r)
	default:
		buildLinux(m, r)
	}
	// Users: the interactive one, another, and the platform's own.
	m.users = append(m.users, m.user, names[1])
	m.packages = pickPackages(r, packageCatalog(p))
	for _, pr := range m.procs {
		m.files = appendUnique(m.files, pr.path)
	}
	for _, a := range m.autoruns {
		m.files = appendUnique(m.files, a.path)
	}
	return m
}

// procSpec describes a process before it has a PID; parent indexes specs.
type procSpec struct {
	path, args, user string
	parent           int // index into the specs, or -1
	suspicious       bool
}

// addProcesses assigns PIDs to specs: fixed ones from fixed (by index)
// and otherwise random multiples of step, all distinct.
func (m *image) addProcesses(r *rand.Rand, specs []procSpec, fixed map[int]int, step int) {
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
		m.procs = append(m.procs, process{pid: pids[i], ppid: ppid, path: s.path, cmdline: commandLine(s.path, s.args), user: s.user, suspicious: s.suspicious})
	}
}

// commandLine is path, quoted when it holds a space, then args.
func commandLine(path, args string) string {
	if strings.Contains(path, " ") {
		path = `"` + path + `"`
	}
	if args != "" {
		path += " " + args
	}
	return path
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
func (m *image) hasProcess(pid int) bool {
	return slices.ContainsFunc(m.procs, func(p process) bool { return p.pid == pid })
}

// pidOf returns the PID of the nth process (from 0) running image exe,
// or 0 when there is none.
func (m *image) pidOf(exe string, nth int) int {
	for _, p := range m.procs {
		if p.path == exe {
			if nth == 0 {
				return p.pid
			}
			nth--
		}
	}
	return 0
}

// atom returns the atom of the process pid: the 32 hex digits the sensor
// would give the event that saw it start, fixed for the host.
func (m *image) atom(pid int) string {
	return atomOf(m.hostname, "process", strconv.Itoa(pid))
}

// atomOf returns a fixed atom for parts.
func atomOf(parts ...string) string {
	r := seeded(append([]string{"atom"}, parts...)...)
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}
