package testproc

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// Command is exec.CommandContext for a test: the process runs in a process
// group of its own, and when ctx ends the whole group is killed — the
// process and whatever it started; so is it when the test binary ends
// (see Main). Wait returns at most a few seconds after that even if a
// grandchild holds the process's output open. The package's TestMain must
// call Main.
func Command(ctx context.Context, tb testing.TB, name string, args ...string) *exec.Cmd {
	tb.Helper()
	mustMain(tb)
	return command(ctx, name, args...)
}

func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
