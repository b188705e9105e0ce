// Command lcsim drives LimaCharlie services without a LimaCharlie account.
//
//	lcsim send [flags] URL ETYPE          sign and post one webhook, print the answer
//	lcsim emulate [flags]                 run the emulated cloud (REST API + fake sensors)
//	lcsim demo [flags] -- COMMAND [ARGS]  run a package-survey service against it
//	lcsim load [flags] URL                send signed webhooks for a while, report latency
//
// Run `lcsim <command> -h` for the flags of each.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: lcsim <command> [flags]

commands:
  send URL ETYPE   sign and post one webhook event, print the service's answer
  emulate          run the emulated LimaCharlie cloud and drive a service by hand
  demo -- COMMAND  run a package-survey service (e.g. examples/packages)
                   against the emulated cloud
  load URL         load-test a running service with signed webhooks

Run 'lcsim <command> -h' for a command's flags.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "send":
		return runSend(ctx, args[1:], stdin, stdout, stderr)
	case "emulate":
		return runEmulate(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "load":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "lcsim: unknown command %q\n\n%s", args[0], usage)
	return 2
}
