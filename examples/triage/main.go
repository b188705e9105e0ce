// Command triage is the multi-step example: a "suspicious-execution"
// detection opens a job, the sensor's processes are listed, those running
// from outside the system directories are hashed one by one, and the job
// ends with a table of path, pid, sha256 and signer.
//
// It reads PORT (default 8080), LC_SHARED_SECRET (required) and LC_API_URL
// (default the LimaCharlie API; point it at `lcsim emulate` to run locally).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lcsvc/lcservice/examples/triage/triage"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	is, err := triage.New(os.Getenv("LC_SHARED_SECRET"), triage.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(2)
	}
	if err := service.ListenAndServe(context.Background(), is.Base(), ""); err != nil {
		is.Base().Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}
