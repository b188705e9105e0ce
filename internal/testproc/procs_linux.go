package testproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// becomeReaper makes this process the parent of every orphan among its
// descendants, instead of init, so that killAll still finds them.
func becomeReaper() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// killAll kills every process below this one that still runs, and returns
// them, described, for the message. Zombies have exited already and are
// left for this process's exit to clear.
func killAll() []string {
	var killed []string
	seen := map[int]bool{}
	// A process may fork while it is being killed: look again until
	// nothing is left.
	for range 10 {
		found := false
		for _, p := range descendants(os.Getpid()) {
			found = true
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			if !seen[p.pid] {
				seen[p.pid] = true
				killed = append(killed, fmt.Sprintf("%d (%s)", p.pid, p.comm))
			}
		}
		if !found {
			break
		}
	}
	return killed
}

type proc struct {
	pid, ppid int
	comm      string
	zombie    bool
}

// descendants lists the live processes below pid, from /proc.
func descendants(pid int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(n); ok {
			children[p.ppid] = append(children[p.ppid], p)
		}
	}
	var out []proc
	var walk func(int)
	walk = func(parent int) {
		for _, c := range children[parent] {
			if !c.zombie {
				out = append(out, c)
			}
			walk(c.pid)
		}
	}
	walk(pid)
	return out
}

// readStat reads a process's name, state and parent from /proc/PID/stat.
func readStat(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	// pid (comm) state ppid …; comm may hold spaces and parentheses.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return proc{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return proc{}, false
	}
	return proc{pid: pid, ppid: ppid, comm: s[open+1 : end], zombie: f[0] == "Z"}, true
}
