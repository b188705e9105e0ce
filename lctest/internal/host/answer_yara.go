package host

import (
	"path"
	"strings"
)

// yaraFlags are the flags of yara_scan: the rule (or a positional
// argument) and at most one target: a process, a file, or the processes
// whose image matches an expression.
var yaraFlags = flags{
	"--rule": "rule",
	"-p":     "pid", "--pid": "pid",
	"-f": "file_path", "--file_path": "file_path",
	"-e": "process_expr", "--process_expr": "process_expr",
}

// yaraScan scans with a rule. The rule hits exactly the host's suspicious
// processes: a whole-host scan reports each, a targeted one reports its
// target when it is one of them. One YARA_DETECTION per hit, then a
// RECEIPT "done".
func (h *Host) yaraScan(cmd Command) []Event {
	const usage = "usage: yara_scan <rule> [--pid PID | --file_path PATH | -e EXPR], the rule positional or as --rule"
	values, pos, err := yaraFlags.parse(cmd.Args)
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	rule, flagged := values["rule"]
	switch {
	case flagged && len(pos) > 0, len(pos) > 1:
		return badArgs(cmd, "give one rule; %s", usage)
	case !flagged && len(pos) == 0:
		return badArgs(cmd, "the rule to scan with is missing; %s", usage)
	case !flagged:
		rule = pos[0]
	}
	targets := 0
	for _, t := range []string{"pid", "file_path", "process_expr"} {
		if _, ok := values[t]; ok {
			targets++
		}
	}
	if targets > 1 {
		return badArgs(cmd, "give one target; %s", usage)
	}
	pid, byPID, err := pidValue(values)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	if byPID && !h.running(pid) {
		return []Event{h.noSuchProcess(pid)}
	}
	file, byFile := values["file_path"]
	expr, byExpr := values["process_expr"]

	var events []Event
	for _, p := range h.img.procs {
		switch {
		case !p.suspicious,
			byPID && p.pid != pid,
			byFile && !h.img.samePath(p.path, file),
			byExpr && !h.matchesExpr(p.path, expr),
			!byFile && !h.running(p.pid):
			continue
		}
		hit := map[string]any{"RULE_NAME": ruleName(rule), "FILE_PATH": p.path, "HASH": h.img.fileHash(p.path)}
		if !byFile {
			hit["PROCESS_ID"] = p.pid
		}
		events = append(events, Event{Type: "YARA_DETECTION", Payload: hit})
		if byFile {
			break // a file is scanned once, however many processes run it
		}
	}
	return append(events, Receipt(0, "done"))
}

// matchesExpr reports whether a process image matches a process
// expression: a wildcard pattern over its path or its file name.
func (h *Host) matchesExpr(image, expr string) bool {
	k, e := h.img.fileKey(image), h.img.fileKey(expr)
	full, _ := path.Match(e, k)
	base, _ := path.Match(e, h.img.fileKey(baseName(image)))
	return full || base
}

// ruleName is the RULE_NAME a rule reports: the record of a hive://yara
// reference, the name of an inline rule, or the argument itself.
func ruleName(rule string) string {
	if name, ok := strings.CutPrefix(rule, "hive://yara/"); ok {
		return name
	}
	if f := strings.Fields(rule); len(f) > 1 && f[0] == "rule" {
		return strings.TrimRight(f[1], "{:")
	}
	return rule
}
