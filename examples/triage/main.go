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
//	LC_DRAIN_DELAY    how long it keeps serving, unready, after SIGTERM
//	                  before it closes its listener (a Go duration; default
//	                  1s): as long as the load balancer takes to notice
//	LC_REDIS_URL      redis://host:port/db: share pending tasks and the
//	                  rest of the service's state with the other replicas
//	                  using the same Redis (default: this process only)
//	PORT              the port to listen on (default 8080)
package main

import (
	"context"
	"fmt"
	"os"
	"time"

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
	drain := service.DefaultDrainDelay
	if v := os.Getenv("LC_DRAIN_DELAY"); v != "" {
		drain, err = time.ParseDuration(v)
		if err != nil || drain < 0 {
			fmt.Fprintf(os.Stderr, "triage: LC_DRAIN_DELAY=%q: use a duration such as 5s\n", v)
			os.Exit(2)
		}
	}
	proto, err := extension.Select(os.Getenv("LC_PROTOCOL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "triage: LC_PROTOCOL:", err)
		os.Exit(2)
	}
	is, err := triage.New(os.Getenv("LC_SHARED_SECRET"), triage.Options{
		Interactive: []interactive.Option{interactive.WithAPIURL(os.Getenv("LC_API_URL")), interactive.WithRedisURL(os.Getenv("LC_REDIS_URL")), interactive.WithServiceOptions(proto, service.WithLogLevel(level), service.WithDrainDelay(drain))},
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
