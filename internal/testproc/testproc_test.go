package testproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process instead of running the
// tests (see helper).
const helperEnv = "TESTPROC_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode == "sleep" || mode == "orphan" {
		os.Exit(helper(mode))
	}
	Main(m)
}

// helper is the test binary run as a child process:
//
//	sleep        sleeps until killed
//	orphan       starts a "sleep" child, prints its pid and exits
//
// and with "hang" the test binary runs TestHang only (see there).
func helper(mode string) int {
	switch mode {
	case "sleep":
		time.Sleep(time.Hour) // the subject: a process that runs until it is killed
		return 0
	case "orphan":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(cmd.Process.Pid)
		return 0
	}
	return 2
}

// TestHang is the helper test binary's one test when helperEnv is "hang":
// it starts a "sleep" child and an "orphan" child, makes a temporary
// directory, prints "ready" with the pids and the directory, and blocks
// until the binary is killed or times out.
func TestHang(t *testing.T) {
	if os.Getenv(helperEnv) != "hang" {
		t.Skip("a helper of TestMainCleansUpAtTheTimeoutAndOnSignals")
	}
	sleeper := Command(context.Background(), t, os.Args[0])
	sleeper.Env = append(os.Environ(), helperEnv+"=sleep")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	orphan := Command(context.Background(), t, os.Args[0])
	orphan.Env = append(os.Environ(), helperEnv+"=orphan")
	out, err := orphan.Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fmt.Printf("ready %d %s %s\n", sleeper.Process.Pid, strings.TrimSpace(string(out)), dir)
	<-t.Context().Done()
}

func TestBinaryBuildsOncePerTestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	path := Binary(t, "./testdata/hello")
	if again := Binary(t, "./testdata/hello"); again != path {
		t.Errorf("built twice: %s, then %s", path, again)
	}
	if !strings.HasPrefix(path, state.root) {
		t.Errorf("built into %s, outside the test binary's directory %s", path, state.root)
	}
	out, err := exec.Command(path).Output()
	if err != nil || string(out) != "hello from a built binary\n" {
		t.Fatalf("running the binary: %q, %v", out, err)
	}
}

func TestBinaryReportsABuildFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	ft := &fatalRecorder{T: t}
	func() {
		defer func() { _ = recover() }()
		Binary(ft, "./testdata/missing")
	}()
	if !strings.Contains(ft.msg, "go build") || !strings.Contains(ft.msg, "testdata/missing") {
		t.Errorf("the failure says %q; want the go command and the package", ft.msg)
	}
}

// fatalRecorder keeps what Fatal said and stops the caller, without
// failing the real test.
type fatalRecorder struct {
	*testing.T
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(f.msg)
}

func (f *fatalRecorder) Helper() {}

func TestCommandKillsItsGroupWhenItsContextEnds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("lists processes through /proc")
	}
	ctx, cancel := context.WithCancel(t.Context())
	// A shell that starts a grandchild and waits: both are in the group.
	cmd := Command(ctx, t, "sh", "-c", `sleep 3600 & echo $!; wait`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	grandchild, _ := strconv.Atoi(strings.TrimSpace(line))
	cancel()
	_ = cmd.Wait()
	waitGone(t, grandchild)
}

// The test binary ends before its -test.timeout with its children,
// grandchildren, orphans and temporary files gone; and so it does on
// SIGTERM. Without Main's watchdog the testing package's own alarm ends the
// binary and the processes live on (the check of the pids fails).
func TestMainCleansUpAtTheTimeoutAndOnSignals(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("lists processes through /proc")
	}
	for _, end := range []string{"timeout", "SIGTERM"} {
		t.Run(end, func(t *testing.T) {
			tmp := t.TempDir()
			timeout := "1h"
			if end == "timeout" {
				timeout = "4s" // the watchdog fires at 2 s
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHang$", "-test.timeout="+timeout)
			cmd.Env = append(os.Environ(), helperEnv+"=hang", "TMPDIR="+tmp)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var pids []int
			var dir string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var a, b int
				if n, _ := fmt.Sscanf(sc.Text(), "ready %d %d %s", &a, &b, &dir); n == 3 {
					pids = []int{a, b}
					break
				}
			}
			if pids == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the helper never got ready; stderr:\n%s", stderr.String())
			}
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("process %d is not running before the end", pid)
				}
			}
			if end == "SIGTERM" {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the helper ended with %v; want a failure", err)
			}
			want := "test timed out"
			if end == "SIGTERM" {
				want = "terminated: killed the processes the tests started"
			}
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%.2000s", want, stderr.String())
			}
			for _, pid := range pids {
				waitGone(t, pid)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the test's temporary directory %s is still there (%v)", dir, err)
			}
			left, _ := filepath.Glob(filepath.Join(tmp, TempPrefix+"*"))
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// waitGone waits until pid no longer runs. The kill has been sent already:
// only the kernel's bookkeeping remains, which takes far less than the
// half minute allowed.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for alive(pid) {
		select {
		case <-ctx.Done():
			t.Fatalf("process %d still runs", pid)
		case <-tick.C:
		}
	}
}

// alive reports whether pid runs: not a zombie, which has exited.
func alive(pid int) bool {
	p, ok := readStat(pid)
	return ok && !p.zombie
}
