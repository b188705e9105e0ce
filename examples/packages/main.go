// Command packages is the interactive example: a request with a sensor id
// tasks os_packages on that sensor and the answer becomes a job with a table
// of the installed packages.
//
// It reads PORT (default 8080), LC_SHARED_SECRET (required) and LC_API_URL
// (default the LimaCharlie API; point it at `lcsim emulate` to run locally).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lcsvc/lcservice/examples/packages/survey"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	is, err := survey.New(os.Getenv("LC_SHARED_SECRET"), survey.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "packages:", err)
		os.Exit(2)
	}
	if err := service.ListenAndServe(context.Background(), is.Base(), ""); err != nil {
		is.Base().Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}
