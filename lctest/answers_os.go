package lctest

import "fmt"

// Built-in answers about the operating system: packages, processes,
// services, autoruns, version, users, and killing a process.

func answerPackages(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(s.host.packages))
	for _, p := range s.host.packages {
		list = append(list, map[string]any{"PACKAGE_NAME": p.name, "PACKAGE_VERSION": p.version})
	}
	return []Event{{Type: "OS_PACKAGES_REP", Payload: map[string]any{"PACKAGES": list}}}
}

func answerProcesses(s *Sensor, cmd Command) []Event {
	flags, pos, err := parseArgs(cmd.Args, pidOnly())
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return badArgs(cmd, "%v; usage: os_processes [-p PID]", err)
	}
	pid, onlyOne, err := pidFlag(flags)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	list := []map[string]any{}
	for _, p := range s.host.procs {
		if (onlyOne && p.pid != pid) || !s.running(p.pid) {
			continue
		}
		list = append(list, map[string]any{
			"PROCESS_ID":        p.pid,
			"PARENT_PROCESS_ID": p.ppid,
			"FILE_PATH":         p.path,
			"COMMAND_LINE":      p.cmdline,
			"USER_NAME":         p.user,
			"HASH":              s.host.fileHash(p.path),
		})
	}
	payload := map[string]any{"PROCESSES": list}
	if onlyOne && len(list) == 0 {
		payload["ERROR"] = errCodeNoSuchProcess
		payload["ERROR_MESSAGE"] = fmt.Sprintf("no process with id %d", pid)
	}
	return []Event{{Type: "OS_PROCESSES_REP", Payload: payload}}
}

func answerServices(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(s.host.services))
	for _, sv := range s.host.services {
		state, pid := 1, 0 // SERVICE_STOPPED
		if sv.running {
			state, pid = 4, s.host.pidOf(sv.exe, 0) // SERVICE_RUNNING
		}
		exe := sv.exe
		if sv.args != "" {
			exe += " " + sv.args
		}
		list = append(list, map[string]any{
			"SVC_NAME":         sv.name,
			"SVC_DISPLAY_NAME": sv.display,
			"SVC_STATE":        state,
			"PROCESS_ID":       pid,
			"EXECUTABLE":       exe,
		})
	}
	return []Event{{Type: "OS_SERVICES_REP", Payload: map[string]any{"SVCS": list}}}
}

func answerAutoruns(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	list := make([]map[string]any, 0, len(s.host.autoruns))
	for _, a := range s.host.autoruns {
		list = append(list, map[string]any{"REGISTRY_KEY": a.key, "FILE_PATH": a.path, "HASH": s.host.fileHash(a.path)})
	}
	return []Event{{Type: "OS_AUTORUNS_REP", Payload: map[string]any{"AUTORUNS": list}}}
}

func answerVersion(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	v := s.host.version
	return []Event{{Type: "OS_VERSION_REP", Payload: map[string]any{
		"VERSION_MAJOR": v[0], "VERSION_MINOR": v[1], "BUILD_NUMBER": v[2],
	}}}
}

func answerUsers(s *Sensor, cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	var names []string
	switch s.platform {
	case Windows:
		names = append(names, "Administrator")
	default:
		names = append(names, "root")
	}
	names = append(names, s.host.users...)
	list := make([]map[string]any, 0, len(names))
	for _, n := range names {
		list = append(list, map[string]any{"USER_NAME": n})
	}
	return []Event{{Type: "OS_USERS_REP", Payload: map[string]any{"USERS": list}}}
}

func answerKill(s *Sensor, cmd Command) []Event {
	flags, pos, err := parseArgs(cmd.Args, pidOnly())
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return badArgs(cmd, "%v; usage: os_kill_process -p PID", err)
	}
	pid, ok, err := pidFlag(flags)
	if err != nil || !ok {
		return badArgs(cmd, "a process id is required; usage: os_kill_process -p PID")
	}
	if !s.kill(pid) {
		return []Event{{Type: "OS_KILL_PROCESS_REP", Payload: map[string]any{
			"ERROR": errCodeNoSuchProcess, "ERROR_MESSAGE": fmt.Sprintf("no process with id %d", pid), "PROCESS_ID": pid,
		}}}
	}
	return []Event{{Type: "OS_KILL_PROCESS_REP", Payload: map[string]any{"ERROR": 0, "PROCESS_ID": pid}}}
}
