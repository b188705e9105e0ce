package testproc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// builds are the binaries built so far, by what was built.
var builds sync.Map // string → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the main package pkg (as go build names it,
// relative to the test's working directory) built with the flags of this
// test binary: with -race when it was built with -race, so that the build
// reuses the packages go test compiled for it and the program runs under
// the same checks as the test. It is built once per test binary, into
// the binary's temporary directory; the build is bounded by the test
// binary's -timeout. The package's TestMain must call Main.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	var flags []string
	if raceEnabled {
		flags = append(flags, "-race")
	}
	return BinaryWith(tb, pkg, nil, flags)
}

// BinaryWith is Binary with the go command's extra environment (such as
// CGO_ENABLED=0) and build flags given, as a recipe like a Dockerfile
// writes them; -o is Binary's to choose.
func BinaryWith(tb testing.TB, pkg string, env, flags []string) string {
	tb.Helper()
	mustMain(tb)
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	key := strings.Join([]string{wd, pkg, strings.Join(env, " "), strings.Join(flags, " ")}, "\x00")
	v, _ := builds.LoadOrStore(key, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = goBuild(tb, pkg, env, flags) })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// goBuild runs go build for BinaryWith.
func goBuild(tb testing.TB, pkg string, env, flags []string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("testproc: building %s needs the go command on PATH: %w", pkg, err)
	}
	dir, err := os.MkdirTemp(state.root, "bin-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(filepath.Clean(pkg)))
	if out == filepath.Join(dir, ".") {
		wd, _ := os.Getwd()
		out = filepath.Join(dir, filepath.Base(wd))
	}
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	args := append(append([]string{"build", "-o", out}, flags...), pkg)
	cmd := Command(state.ctx, tb, goCmd, args...)
	cmd.Env = append(os.Environ(), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		if state.ctx.Err() != nil {
			err = fmt.Errorf("%w (the test binary is ending)", err)
		}
		return "", fmt.Errorf("testproc: %s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, log.Bytes())
	}
	return out, nil
}
