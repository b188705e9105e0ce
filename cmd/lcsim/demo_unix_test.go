//go:build unix

package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// However the demo ends, the service it started is gone, and so is every
// process the service started.
func TestDemoLeavesNoProcess(t *testing.T) {
	cases := []struct {
		name, mode string
		args       []string
		procs      int
	}{
		{"never listens", "sleep", []string{"-wait", "500ms"}, 1},
		{"starts a process of its own", "spawn", []string{"-wait", "500ms"}, 2},
		{"ignores SIGTERM", "stubborn", []string{"-grace", "500ms"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr, pidFile := fakeDemo(t, c.mode, c.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			pids := readPIDs(t, pidFile, c.procs)
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range pids {
				// A process the service started is reaped by init, soon.
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("process %d is still running after the demo ended", pid)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

// readPIDs reads the n process ids the fake services wrote to file.
func readPIDs(t *testing.T, file string, n int) []int {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(raw)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != n {
		t.Fatalf("%d fake services started (%v), want %d", len(pids), pids, n)
	}
	return pids
}

// alive reports whether a process with pid runs. A zombie does not: it
// has exited and waits for its parent, or init, to collect it (where
// /proc tells, as on Linux).
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state …; comm may hold spaces and parentheses.
	rest := stat[strings.LastIndexByte(string(stat), ')')+1:]
	fields := strings.Fields(string(rest))
	return len(fields) == 0 || fields[0] != "Z"
}
