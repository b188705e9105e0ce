package lctest

import (
	"fmt"
	"strconv"
	"strings"
)

// RECEIPT error codes of the built-in answers. LimaCharlie treats 0 and
// 200 as success; the rest only need to be non-zero.
const (
	errCodeUnknownCommand = 1
	errCodeBadArguments   = 87 // as Windows' ERROR_INVALID_PARAMETER
	errCodeNoSuchProcess  = 3  // as POSIX ESRCH
	errCodeResponder      = 500
)

// builtin answers one sensor command (os_packages, file_hash, …).
type builtin func(s *Sensor, cmd Command) []Event

// builtinFor returns the built-in answer of the command named name.
func builtinFor(name string) (builtin, bool) {
	switch name {
	case "os_packages":
		return answerPackages, true
	case "os_processes":
		return answerProcesses, true
	case "os_services":
		return answerServices, true
	case "os_autoruns":
		return answerAutoruns, true
	case "os_version":
		return answerVersion, true
	case "os_users":
		return answerUsers, true
	case "os_kill_process":
		return answerKill, true
	case "dir_list":
		return answerDirList, true
	case "file_info":
		return answerFileInfo, true
	case "file_hash":
		return answerFileHash, true
	case "file_get":
		return answerFileGet, true
	case "netstat":
		return answerNetstat, true
	case "yara_scan":
		return answerYara, true
	case "history_dump":
		return answerHistory, true
	case "put", "run":
		return answerPayload, true
	}
	return nil, false
}

// BuiltinCommands lists the commands a fake sensor answers by itself.
func BuiltinCommands() []string {
	return []string{
		"dir_list", "file_get", "file_hash", "file_info", "history_dump", "netstat",
		"os_autoruns", "os_kill_process", "os_packages", "os_processes", "os_services",
		"os_users", "os_version", "put", "run", "yara_scan",
	}
}

// BuiltinAnswer returns the events a fake sensor answers cmd with when no
// Responder overrides it: the command's reply events (OS_PACKAGES_REP for
// os_packages, …) with LimaCharlie's field names, or a RECEIPT
// with a non-zero ERROR for an unknown command or unusable arguments. A
// Responder can call it to alter or extend the built-in answer.
func BuiltinAnswer(s *Sensor, cmd Command) []Event {
	b, ok := builtinFor(cmd.Name)
	if !ok {
		return []Event{Receipt(errCodeUnknownCommand, fmt.Sprintf("unknown command %q", cmd.Name))}
	}
	return b(s, cmd)
}

// answer returns the events answering cmd: the override if there is one,
// else the built-in answer. A panicking Responder answers a RECEIPT error
// rather than taking the test binary down.
func answer(s *Sensor, cmd Command) (events []Event) {
	r := s.responder(cmd.Name)
	if r == nil {
		return BuiltinAnswer(s, cmd)
	}
	defer func() {
		if v := recover(); v != nil {
			events = []Event{Receipt(errCodeResponder, fmt.Sprintf("lctest: the Responder for %q panicked: %v", cmd.Name, v))}
		}
	}()
	return r(s, cmd)
}

// badArgs is the RECEIPT for a command line the sensor cannot use.
func badArgs(cmd Command, format string, a ...any) []Event {
	return []Event{Receipt(errCodeBadArguments, fmt.Sprintf("%s: %s", cmd.Name, fmt.Sprintf(format, a...)))}
}

// flagSpec names the flags a command takes: each alias maps to the
// canonical name; every flag takes a value.
type flagSpec map[string]string

// parseArgs splits args into flag values (by canonical name) and
// positional arguments.
func parseArgs(args []string, spec flagSpec) (map[string]string, []string, error) {
	flags := map[string]string{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, ok := spec[a]
		if !ok {
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return nil, nil, fmt.Errorf("unknown flag %q", a)
			}
			pos = append(pos, a)
			continue
		}
		if i+1 >= len(args) {
			return nil, nil, fmt.Errorf("flag %s needs a value", a)
		}
		i++
		flags[name] = args[i]
	}
	return flags, pos, nil
}

// pidFlag reads the pid flag, if present.
func pidFlag(flags map[string]string) (pid int, present bool, err error) {
	v, ok := flags["pid"]
	if !ok {
		return 0, false, nil
	}
	pid, err = strconv.Atoi(v)
	if err != nil || pid < 0 {
		return 0, true, fmt.Errorf("process id %q is not a number", v)
	}
	return pid, true, nil
}

// pidOnly is the flag set of commands taking only -p PID.
func pidOnly() flagSpec { return flagSpec{"-p": "pid", "--pid": "pid"} }

// noArgs refuses any argument for commands that take none.
func noArgs(cmd Command) []Event {
	if len(cmd.Args) > 0 {
		return badArgs(cmd, "takes no arguments, got %q", strings.Join(cmd.Args, " "))
	}
	return nil
}
