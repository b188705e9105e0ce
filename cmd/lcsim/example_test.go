package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/lcsvc/lcservice/internal/testproc"
)

// The demo runs a service binary, here examples/packages, against the
// emulated cloud. lctest derives each sensor's answers from its hostname
// and platform, so the summary is the same on every run.
func Example_demo() {
	service, err := testproc.Build("github.com/lcsvc/lcservice/examples/packages", nil, testproc.BuildFlags())
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	code := run(context.Background(), []string{"demo", "-quiet", "-ttl", "1s", "--", service}, nil, &out, os.Stderr)
	for line := range strings.Lines(out.String()) {
		if strings.HasPrefix(line, "summary:") {
			fmt.Print(line)
		}
	}
	fmt.Println("exit code", code)
	// Output:
	// summary: 4 sensors surveyed: 3 answered with 23 packages in all, 1 timed out
	// exit code 0
}

// Without -service, emulate runs only the cloud and prints what a service
// needs to reach it; -exit returns at once instead of serving.
func Example_emulate() {
	var out bytes.Buffer
	code := run(context.Background(), []string{"emulate", "-exit", "-sensors", "2"}, nil, &out, os.Stderr)
	for line := range strings.Lines(out.String()) {
		if name, _, ok := strings.Cut(line, "="); ok && strings.HasPrefix(name, "export ") {
			fmt.Println(name)
		}
	}
	fmt.Println("exit code", code)
	// Output:
	// export LC_API_URL
	// export LC_OID
	// export LC_JWT
	// exit code 0
}
