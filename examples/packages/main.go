// Command packages is the interactive example: a request with a sensor id
// tasks os_packages on that sensor and the answer becomes a job with a table
// of the installed packages.
//
// It reads PORT (default 8080), LC_SHARED_SECRET (required), LC_API_URL
// (default the LimaCharlie API; point it at `lcsim emulate` to run locally)
// and SURVEY_TTL, how long a sensor has to answer (a duration such as 30s;
// default 2m).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	var opts survey.Options
	if v := os.Getenv("SURVEY_TTL"); v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil || ttl <= 0 {
			fmt.Fprintf(os.Stderr, "packages: SURVEY_TTL=%q: give a positive duration, e.g. 2m\n", v)
			os.Exit(2)
		}
		opts.TTL = ttl
	}
	is, err := survey.New(os.Getenv("LC_SHARED_SECRET"), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "packages:", err)
		os.Exit(2)
	}
	if err := service.ListenAndServe(context.Background(), is.Base(), ""); err != nil {
		is.Base().Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}
