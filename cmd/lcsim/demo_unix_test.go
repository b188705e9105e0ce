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
		// The wait must outlast the fake's start, or it is gone before it
		// records itself; the other cases do not depend on time.
		{"never listens", "sleep", []string{"-wait", "3s"}, 1},
		{"leaves a process of its own", "spawn", nil, 2},
		{"ignores SIGTERM", "stubborn", []string{"-grace", "500ms"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr, pidFile := fakeDemo(t, c.mode, c.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			pids := readPIDs(t, pidFile, c.procs)
			for _, pid := range pids {
				if !exits(pid) {
					t.Errorf("process %d is still running after the demo ended", pid)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

// exits reports whether pid has exited or exits soon. The demo has killed
// and waited for its service; a process the service left behind is the
// test binary's child now (testproc.Main makes it the reaper of orphans),
// so its exit is waited for rather than polled, up to half a minute, far
// more than a killed process takes.
func exits(pid int) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ws syscall.WaitStatus
		for {
			// ECHILD: not this binary's child, and waited for already.
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return !alive(pid)
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
