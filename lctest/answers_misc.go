package lctest

import (
	"fmt"
)

// Built-in answers for the network, YARA scans, the event history and
// payloads.

func answerNetstat(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(s.host.conns))
	for _, c := range s.host.conns {
		src := c.srcIP
		if src == "" {
			src = s.intIP
		}
		list = append(list, map[string]any{
			"PROTOCOL":    c.proto,
			"SOURCE":      map[string]any{"IP_ADDRESS": src, "PORT": c.srcPort},
			"DESTINATION": map[string]any{"IP_ADDRESS": c.dstIP, "PORT": c.dstPort},
			"PROCESS_ID":  s.host.pidOf(c.exe, c.nthOfSameExec),
			"STATE":       c.state,
		})
	}
	return []Event{{Type: "NETSTAT_REP", Payload: map[string]any{"NETWORK_ACTIVITY": list}}}
}

// answerYara scans processes or a file with the rule (the last positional
// argument). The rule hits exactly the host's suspicious processes: a
// whole-host scan reports each, -p PID or -f FILE reports it when it is
// one of them. One YARA_DETECTION per hit, then a RECEIPT "done".
func answerYara(s *Sensor, cmd Command) []Event {
	const usage = "usage: yara_scan [-p PID | -f FILE] <rule>"
	flags, pos, err := parseArgs(cmd.Args, flagSpec{"-p": "pid", "--pid": "pid", "-f": "file", "--file": "file", "--filePath": "file"})
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	if len(pos) == 0 {
		return badArgs(cmd, "the rule to scan with is missing; %s", usage)
	}
	rule := pos[len(pos)-1]
	pid, byPID, err := pidFlag(flags)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	file, byFile := flags["file"]
	if byPID && byFile {
		return badArgs(cmd, "give -p or -f, not both; %s", usage)
	}
	if byPID && !s.running(pid) {
		return []Event{Receipt(errCodeNoSuchProcess, fmt.Sprintf("no process with id %d", pid))}
	}

	var events []Event
	for _, p := range s.host.procs {
		if !p.suspicious || (byPID && p.pid != pid) || (byFile && !s.host.samePath(p.path, file)) {
			continue
		}
		hit := map[string]any{"RULE_NAME": rule, "FILE_PATH": p.path, "HASH": s.host.fileHash(p.path)}
		if !byFile {
			if !s.running(p.pid) {
				continue
			}
			hit["PROCESS_ID"] = p.pid
		}
		events = append(events, Event{Type: "YARA_DETECTION", Payload: hit})
		if byFile {
			break // a file is scanned once, however many processes run it
		}
	}
	return append(events, Receipt(0, "done"))
}

// answerHistory answers HISTORY_DUMP_REP, then re-sends the events the
// sensor holds in its cache: the start of its suspicious processes, a DNS
// request and a connection made by the last of them.
func answerHistory(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	events := []Event{{Type: "HISTORY_DUMP_REP", Payload: map[string]any{}}}
	var last process
	for _, p := range s.host.procs {
		if !p.suspicious {
			continue
		}
		last = p
		events = append(events, Event{Type: "NEW_PROCESS", Payload: map[string]any{
			"PROCESS_ID":        p.pid,
			"PARENT_PROCESS_ID": p.ppid,
			"FILE_PATH":         p.path,
			"COMMAND_LINE":      p.cmdline,
			"USER_NAME":         p.user,
			"HASH":              s.host.fileHash(p.path),
		}})
	}
	r := seeded("history", s.hostname)
	domain := fmt.Sprintf("%s.%s.example", randomName(r, 10), pick(r, []string{"cdn", "update", "sync"}))
	ip := fmt.Sprintf("198.51.100.%d", 1+r.IntN(254))
	events = append(events,
		Event{Type: "DNS_REQUEST", Payload: map[string]any{
			"DOMAIN_NAME": domain, "IP_ADDRESS": ip, "DNS_TYPE": 1, "PROCESS_ID": last.pid,
		}},
		Event{Type: "NEW_TCP4_CONNECTION", Payload: map[string]any{
			"PROCESS_ID":  last.pid,
			"SOURCE":      map[string]any{"IP_ADDRESS": s.intIP, "PORT": 49152 + r.IntN(10000)},
			"DESTINATION": map[string]any{"IP_ADDRESS": ip, "PORT": 443},
		}},
	)
	return events
}

// answerPayload answers put and run: a RECEIPT once the payload is
// placed or has run.
func answerPayload(s *Sensor, cmd Command) []Event {
	if len(cmd.Args) == 0 {
		return badArgs(cmd, "needs arguments, e.g. %s --payload-name NAME", cmd.Name)
	}
	return []Event{Receipt(0, "done")}
}
