package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/internal/testproc"
)

func TestMain(m *testing.M) {
	// The test binary doubles as a misbehaving service for the demo's
	// tests: see fakeService.
	if mode := os.Getenv(fakeServiceEnv); mode != "" {
		os.Exit(fakeService(mode))
	}
	// The demo's service processes, and what they start, end with the
	// test binary however it ends.
	testproc.Main(m)
}

// packagesBinary is examples/packages, built once per test binary: the
// demo and emulate tests run it as a child process, as `make demo` does,
// so these tests import no example code. Under -short the test is skipped.
func packagesBinary(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: runs examples/packages as its own process")
	}
	return testproc.Binary(tb, "github.com/lcsvc/lcservice/examples/packages")
}

// Asking for help is not an error: every command prints its usage and
// exits 0 on -h and -help.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range []string{"send", "emulate", "demo"} {
		for _, h := range []string{"-h", "-help", "--help"} {
			t.Run(cmd+" "+h, func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(t.Context(), []string{cmd, h}, nil, &out, &errOut)
				if code != 0 {
					t.Errorf("exit code %d, want 0", code)
				}
				if usage := out.String() + errOut.String(); !strings.Contains(usage, "usage: lcsim "+cmd) {
					t.Errorf("no usage printed:\n%s", usage)
				}
			})
		}
	}
}

// Help must not print secrets: flag defaults come from the environment
// only after parsing, so -h shows the variable's name, not its value.
func TestHelpHidesSecrets(t *testing.T) {
	t.Setenv("LC_SHARED_SECRET", "topsecret")
	t.Setenv("LC_JWT", "jwtvalue")
	for _, cmd := range []string{"send", "emulate", "demo"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			run(t.Context(), []string{cmd, "-h"}, nil, &out, &errOut)
			usage := out.String() + errOut.String()
			for _, secret := range []string{"topsecret", "jwtvalue"} {
				if strings.Contains(usage, secret) {
					t.Errorf("-h printed %q:\n%s", secret, usage)
				}
			}
			if cmd != "demo" && !strings.Contains(usage, "$LC_SHARED_SECRET") {
				t.Errorf("-h does not name LC_SHARED_SECRET:\n%s", usage)
			}
		})
	}
}
