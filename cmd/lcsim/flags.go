package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errUsage reports a bad command line whose explanation was printed already.
var errUsage = errors.New("bad command line")

// usageExit is the exit code after a command line could not be used: 0
// when help was asked for (-h or -help: the usage was printed as asked),
// 2 otherwise.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseFlagsOnly parses args for a command that takes flags and no
// arguments, reporting a stray argument on stderr.
func parseFlagsOnly(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "lcsim %s: unexpected argument %q (everything is a flag)\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}
