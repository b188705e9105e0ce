package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lcsvc/lcservice/lctest"
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

// flagsFromEnv sets each flag named in env (flag name → environment
// variable) that the command line did not give to the variable's value.
// Reading the environment only after parsing keeps values — secrets
// among them — out of the defaults that -h prints.
func flagsFromEnv(fs *flag.FlagSet, env map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, variable := range env {
		v, ok := os.LookupEnv(variable)
		if given[name] || !ok || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("$%s (for -%s): %w", variable, name, err)
		}
	}
	return nil
}

// protocolFlag is a -protocol flag: service (the default) or extension.
type protocolFlag struct{ p *lctest.Protocol }

func (f protocolFlag) String() string {
	if f.p == nil {
		return lctest.ServiceProtocol.String()
	}
	return f.p.String()
}

func (f protocolFlag) Set(v string) error {
	switch v {
	case "service":
		*f.p = lctest.ServiceProtocol
	case "extension":
		*f.p = lctest.Extension
	default:
		return fmt.Errorf("%q: use service or extension", v)
	}
	return nil
}
