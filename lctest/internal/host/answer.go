package host

import (
	"fmt"
	"slices"
	"strings"
)

// answerFunc answers one command on h.
type answerFunc func(h *Host, cmd Command) []Event

// answers are the built-in answers, by command name.
var answers = map[string]answerFunc{
	"dir_list":        (*Host).dirList,
	"file_get":        (*Host).fileGet,
	"file_hash":       (*Host).fileHashAnswer,
	"file_info":       (*Host).fileInfo,
	"history_dump":    (*Host).historyDump,
	"netstat":         (*Host).netstat,
	"os_autoruns":     (*Host).osAutoruns,
	"os_kill_process": (*Host).osKillProcess,
	"os_packages":     (*Host).osPackages,
	"os_processes":    (*Host).osProcesses,
	"os_services":     (*Host).osServices,
	"os_users":        (*Host).osUsers,
	"os_version":      (*Host).osVersion,
	"put":             (*Host).payload,
	"run":             (*Host).payload,
	"yara_scan":       (*Host).yaraScan,
}

// Commands lists the commands a host answers by itself, sorted.
func Commands() []string {
	out := make([]string, 0, len(answers))
	for name := range answers {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Answer returns the events h answers cmd with: the command's reply
// events, or a RECEIPT with a non-zero ERROR for an unknown command or
// arguments the sensor would refuse.
func (h *Host) Answer(cmd Command) []Event {
	answer, ok := answers[cmd.Name]
	if !ok {
		return []Event{Receipt(ErrInvalidFunction, fmt.Sprintf("unknown command %q", cmd.Name))}
	}
	return answer(h, cmd)
}

// badArgs is the RECEIPT for a command line the sensor cannot use.
func badArgs(cmd Command, format string, a ...any) []Event {
	return []Event{Receipt(ErrInvalidParameter, fmt.Sprintf("%s: %s", cmd.Name, fmt.Sprintf(format, a...)))}
}

// noArgs refuses any argument for the commands that take none.
func noArgs(cmd Command) []Event {
	if len(cmd.Args) > 0 {
		return badArgs(cmd, "takes no arguments, got %q", strings.Join(cmd.Args, " "))
	}
	return nil
}
