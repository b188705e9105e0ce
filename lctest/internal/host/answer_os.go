package host

import (
	"fmt"
	"strings"
)

// Built-in answers about the operating system: packages, processes,
// services, autoruns, version, users, and killing a process.

func (h *Host) osPackages(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(h.img.packages))
	for _, p := range h.img.packages {
		name, version := "PACKAGE_NAME", "PACKAGE_VERSION"
		e := map[string]any{}
		if h.dialect == CommandsReference {
			name, version = "NAME", "VERSION"
			e["PUBLISHER"] = p.publisher
		}
		e[name] = p.name
		if p.version != "" {
			e[version] = p.version
		}
		list = append(list, e)
	}
	return []Event{{Type: "OS_PACKAGES_REP", Payload: map[string]any{"PACKAGES": list}}}
}

func (h *Host) osProcesses(cmd Command) []Event {
	values, pos, err := pidFlag.parse(cmd.Args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return badArgs(cmd, "%v; usage: os_processes [--pid PID]", err)
	}
	pid, onlyOne, err := pidValue(values)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	var procs []process
	for _, p := range h.img.procs {
		if (!onlyOne || p.pid == pid) && h.running(p.pid) {
			procs = append(procs, p)
		}
	}
	if onlyOne && len(procs) == 0 {
		return []Event{h.noSuchProcess(pid)}
	}
	if h.dialect == CommandsReference {
		events := make([]Event, 0, len(procs))
		for _, p := range procs {
			e := h.processFields(p)
			delete(e, "HASH")
			events = append(events, Event{Type: "EXISTING_PROCESS", Payload: e, This: h.img.atom(p.pid)})
		}
		return events
	}
	list := make([]map[string]any, 0, len(procs))
	for _, p := range procs {
		list = append(list, h.processFields(p))
	}
	return []Event{{Type: "OS_PROCESSES_REP", Payload: map[string]any{"PROCESSES": list}}}
}

// processFields describes a process as process listings and NEW_PROCESS
// do.
func (h *Host) processFields(p process) map[string]any {
	return map[string]any{
		"PROCESS_ID":        p.pid,
		"PARENT_PROCESS_ID": p.ppid,
		"FILE_PATH":         p.path,
		"COMMAND_LINE":      p.cmdline,
		"USER_NAME":         p.user,
		"HASH":              h.img.fileHash(p.path),
	}
}

func (h *Host) osServices(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(h.img.services))
	for _, sv := range h.img.services {
		state, pid := 1, 0 // SERVICE_STOPPED
		if sv.running {
			state, pid = 4, h.img.pidOf(sv.exe, 0) // SERVICE_RUNNING
		}
		e := map[string]any{
			"SVC_NAME":         sv.name,
			"SVC_DISPLAY_NAME": sv.display,
			"SVC_STATE":        state,
			"SVC_TYPE":         16, // SERVICE_WIN32_OWN_PROCESS
			"PROCESS_ID":       pid,
			"EXECUTABLE":       h.executable(sv),
			"HASH":             h.img.fileHash(sv.exe),
		}
		if sv.dll != "" {
			e["SVC_TYPE"] = 32 // SERVICE_WIN32_SHARE_PROCESS
			e["DLL"] = sv.dll
			e["HASH"] = h.img.fileHash(expandWindows(sv.dll))
		}
		list = append(list, e)
	}
	return []Event{{Type: "OS_SERVICES_REP", Payload: map[string]any{"SVCS": list}}}
}

// executable is a service's EXECUTABLE: its command line as registered,
// which on Windows names the system directory %SystemRoot%.
func (h *Host) executable(sv svc) string {
	exe := sv.exe
	if h.img.platform == Windows {
		if rest, ok := strings.CutPrefix(exe, `C:\Windows`); ok {
			exe = "%SystemRoot%" + rest
		}
	}
	return commandLine(exe, sv.args)
}

func (h *Host) osAutoruns(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(h.img.autoruns))
	for _, a := range h.img.autoruns {
		value := a.value
		if value == "" {
			value = a.path
		}
		list = append(list, map[string]any{"REGISTRY_KEY": a.key, "FILE_PATH": value, "HASH": h.img.fileHash(a.path)})
	}
	return []Event{{Type: "OS_AUTORUNS_REP", Payload: map[string]any{
		"TIMESTAMP": h.now().Unix(),
		"AUTORUNS":  list,
	}}}
}

func (h *Host) osVersion(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	return []Event{{Type: "OS_VERSION_REP", Payload: map[string]any{"BUILD_NUMBER": h.img.version[2]}}}
}

func (h *Host) osUsers(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	names := []string{"root"}
	if h.img.platform == Windows {
		names = []string{"Administrator"}
	}
	names = append(names, h.img.users...)
	list := make([]map[string]any, 0, len(names))
	for _, n := range names {
		list = append(list, map[string]any{"USER_NAME": n})
	}
	return []Event{{Type: "OS_USERS_REP", Payload: map[string]any{"USERS": list}}}
}

func (h *Host) osKillProcess(cmd Command) []Event {
	const usage = "usage: os_kill_process --pid PID"
	values, pos, err := pidFlag.parse(cmd.Args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	pid, ok, err := pidValue(values)
	if err != nil || !ok {
		return badArgs(cmd, "a process id is required; %s", usage)
	}
	code := 0
	if !h.kill(pid) {
		code = h.noSuchProcess(pid).Payload["ERROR"].(int)
	}
	return []Event{{Type: "OS_KILL_PROCESS_REP", Payload: map[string]any{"ERROR": code, "PROCESS_ID": pid}}}
}
