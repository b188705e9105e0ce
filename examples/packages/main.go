// Command packages is the interactive example: a request with a sensor id
// tasks os_packages on that sensor and the answer becomes a job with a table
// of the installed packages.
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
//	SURVEY_TTL        how long a sensor has to answer, e.g. 90s (default 2m)
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	level, err := service.ParseLogLevel(os.Getenv("LC_LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "packages: LC_LOG_LEVEL:", err)
		os.Exit(2)
	}
	drain := service.DefaultDrainDelay
	if v := os.Getenv("LC_DRAIN_DELAY"); v != "" {
		drain, err = time.ParseDuration(v)
		if err != nil || drain < 0 {
			fmt.Fprintf(os.Stderr, "packages: LC_DRAIN_DELAY=%q: use a duration such as 5s\n", v)
			os.Exit(2)
		}
	}
	proto, err := extension.Select(os.Getenv("LC_PROTOCOL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "packages: LC_PROTOCOL:", err)
		os.Exit(2)
	}
	var ttl time.Duration
	if v := os.Getenv("SURVEY_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "packages: SURVEY_TTL=%q: use a positive duration such as 90s or 2m\n", v)
			os.Exit(2)
		}
		ttl = d
	}
	is, err := survey.New(os.Getenv("LC_SHARED_SECRET"), survey.Options{
		TTL:         ttl,
		Interactive: []interactive.Option{interactive.WithAPIURL(os.Getenv("LC_API_URL")), interactive.WithRedisURL(os.Getenv("LC_REDIS_URL")), interactive.WithServiceOptions(proto, service.WithLogLevel(level), service.WithDrainDelay(drain))},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "packages:", err)
		os.Exit(2)
	}
	if err := is.ListenAndServe(context.Background(), ""); err != nil {
		is.Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}
