package testproc

import (
	"bytes"
	"errors"
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
	path, err := Build(pkg, nil, BuildFlags())
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BuildFlags are the go command's flags that build as this test binary was
// built: -race when it was.
func BuildFlags() []string {
	if raceEnabled {
		return []string{"-race"}
	}
	return nil
}

// Build is Binary for an Example, or for a recipe: the go command gets
// the extra environment (such as CGO_ENABLED=0) and the build flags given,
// as a recipe like a Dockerfile writes them; -o is Build's to choose. It
// builds once per test binary for each package, environment and flags.
func Build(pkg string, env, flags []string) (string, error) {
	if state.root == "" {
		return "", errors.New("testproc: call testproc.Main(m) from this package's TestMain first")
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	key := strings.Join([]string{wd, pkg, strings.Join(env, " "), strings.Join(flags, " ")}, "\x00")
	v, _ := builds.LoadOrStore(key, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = goBuild(pkg, env, flags) })
	return b.path, b.err
}

// goBuild runs go build for Build.
func goBuild(pkg string, env, flags []string) (string, error) {
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
	cmd := command(state.ctx, goCmd, args...)
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
