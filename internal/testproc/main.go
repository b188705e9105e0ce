package testproc

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TempPrefix starts the name of every test binary's private temporary
// directory, under the system's temporary directory.
const TempPrefix = "lcservice-test-"

// state is the test binary's: Main sets it up, everything else uses it.
var state struct {
	root    string             // the private temporary directory
	ctx     context.Context    // ends when the binary is about to end
	cancel  context.CancelFunc //
	cleanup func() []string    // kills what is left, removes root, once
}

// Main runs the tests of m and exits with their code, after killing every
// process the tests started and left running and removing every file they
// wrote to the temporary directory. See the package documentation.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // for -test.timeout
	root, err := os.MkdirTemp("", TempPrefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testproc: cannot make a temporary directory:", err)
		return 2
	}
	// t.TempDir, os.MkdirTemp and the children all honour TMPDIR.
	os.Setenv("TMPDIR", root)
	becomeReaper()
	state.root = root
	state.ctx, state.cancel = context.WithCancel(context.Background())
	state.cleanup = sync.OnceValue(func() []string {
		state.cancel()
		left := killAll()
		os.RemoveAll(root)
		return left
	})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-signals
		state.cleanup()
		fmt.Fprintf(os.Stderr, "testproc: %v: killed the processes the tests started and removed their temporary files\n", sig)
		// Die of the signal, as the go command expects.
		signal.Reset(sig)
		reraise(sig)
		os.Exit(2)
	}()

	if timeout := testTimeout(); timeout > 0 {
		// Fire before the testing package's own alarm, which exits without
		// running any cleanup.
		margin := min(max(timeout/20, 5*time.Second), timeout/2)
		watchdog := time.AfterFunc(timeout-margin, func() {
			left := state.cleanup()
			debug.SetTraceback("all")
			panic(fmt.Sprintf("test timed out: %v of -test.timeout=%v spent; "+
				"testproc killed %d processes the tests had started and removed their temporary files",
				timeout-margin, timeout, len(left)))
		})
		defer watchdog.Stop()
	}

	code := m.Run()
	if left := state.cleanup(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "testproc: the tests left %d processes running; killed: %v\n", len(left), left)
	}
	return code
}

// testTimeout is the -test.timeout the go command passed, or 0.
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := f.Value.(flag.Getter).Get().(time.Duration)
	return d
}

// mustMain fails tb if the test binary's TestMain does not call Main.
func mustMain(tb testing.TB) {
	tb.Helper()
	if state.root == "" {
		tb.Fatal("testproc: call testproc.Main(m) from this package's TestMain first")
	}
}
