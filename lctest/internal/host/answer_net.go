package host

// netstat lists the host's connections: NETSTAT_REP as the events
// reference shows it, or NETWORK_CONNECTIONS as the commands reference
// does.
func (h *Host) netstat(cmd Command) []Event {
	if bad := noArgs(cmd); bad != nil {
		return bad
	}
	_, intIP := h.Addresses()
	list := make([]map[string]any, 0, len(h.img.conns))
	for _, c := range h.img.conns {
		src := c.srcIP
		if src == "" {
			src = intIP
		}
		pid := h.img.pidOf(c.exe, c.nthOfSameExec)
		if h.dialect == CommandsReference {
			list = append(list, map[string]any{
				"STATE":          tcpStateName(c.state),
				"LOCAL_ADDRESS":  src,
				"LOCAL_PORT":     c.srcPort,
				"REMOTE_ADDRESS": c.dstIP,
				"REMOTE_PORT":    c.dstPort,
				"PID":            pid,
				"PROCESS":        baseName(c.exe),
			})
			continue
		}
		list = append(list, map[string]any{
			"PROTOCOL":    c.proto,
			"SOURCE":      map[string]any{"IP_ADDRESS": src, "PORT": c.srcPort},
			"DESTINATION": map[string]any{"IP_ADDRESS": c.dstIP, "PORT": c.dstPort},
			"PROCESS_ID":  pid,
		})
	}
	if h.dialect == CommandsReference {
		return []Event{{Type: "NETWORK_CONNECTIONS", Payload: map[string]any{"NETWORK_ACTIVITY": list}}}
	}
	return []Event{{Type: "NETSTAT_REP", Payload: map[string]any{"FRIENDLY": 0, "NETWORK_ACTIVITY": list}}}
}

// tcpStateName names a TCP state; UDP sockets have none.
func tcpStateName(state int) string {
	switch state {
	case tcpListen:
		return "LISTEN"
	case tcpEstablished:
		return "ESTABLISHED"
	}
	return ""
}
