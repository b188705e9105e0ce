// Command triage is the multi-step example: a "suspicious-execution"
// detection opens a job, the sensor's processes are listed, those running
// from outside the system directories are hashed one by one, and the job
// ends with a table of path, pid, sha256 and signer.
//
// It reads its configuration from the environment:
//
//	LC_SHARED_SECRET  the shared secret configured for the service (required)
//	LC_PROTOCOL       service (default) or extension: the webhook protocol
//	                  it is served with
//	LC_API_URL        the REST API base URL (default the LimaCharlie API;
//	                  point it at `lcsim emulate` to run locally)
//	LC_LOG_LEVEL      debug, info (default), warn or error: the lowest
//	                  level logged
//	LC_REDIS_URL      redis://host:port/db: share pending tasks and the
//	                  rest of the service's state with the other replicas
//	                  using the same Redis (default: this process only)
//	PORT              the port to listen on (default 8080)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lcsvc/lcservice/examples/triage/triage"
	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	level, err := service.ParseLogLevel(os.Getenv("LC_LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage: LC_LOG_LEVEL:", err)
		os.Exit(2)
	}
	proto, err := extension.Select(os.Getenv("LC_PROTOCOL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage: LC_PROTOCOL:", err)
		os.Exit(2)
	}
	is, err := triage.New(os.Getenv("LC_SHARED_SECRET"), triage.Options{
		Interactive: []interactive.Option{interactive.WithAPIURL(os.Getenv("LC_API_URL")), interactive.WithRedisURL(os.Getenv("LC_REDIS_URL")), interactive.WithServiceOptions(proto, service.WithLogLevel(level))},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(2)
	}
	if err := is.ListenAndServe(context.Background(), ""); err != nil {
		is.Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}
