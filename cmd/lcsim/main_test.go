package main

import (
	"bytes"
	"strings"
	"testing"
)

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
