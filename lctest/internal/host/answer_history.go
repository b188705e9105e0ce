package host

import "fmt"

// historyFlags filter history_dump: by event type, by atom, and to the
// events that descend from a root atom.
var historyFlags = flags{
	"-e": "event", "--event": "event",
	"-a": "atom", "--atom": "atom",
	"-r": "root", "--rootAtom": "root",
}

// historyDump answers HISTORY_DUMP_REP, then re-sends the events of the
// sensor's cache that pass the filters: the start of its suspicious
// processes, and a DNS request and a connection made by the last of them.
func (h *Host) historyDump(cmd Command) []Event {
	const usage = "usage: history_dump [-e EVENT_TYPE] [-a ATOM] [-r ROOT_ATOM]"
	values, pos, err := historyFlags.parse(cmd.Args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	cached := h.cache()
	under := map[string]bool{}
	if root, ok := values["root"]; ok {
		under[root] = true
		for grew := true; grew; {
			grew = false
			for _, e := range cached {
				if under[e.Parent] && !under[e.This] {
					under[e.This], grew = true, true
				}
			}
		}
	}
	events := []Event{{Type: "HISTORY_DUMP_REP", Payload: map[string]any{}}}
	for _, e := range cached {
		if t, ok := values["event"]; ok && e.Type != t {
			continue
		}
		if a, ok := values["atom"]; ok && e.This != a {
			continue
		}
		if root, ok := values["root"]; ok && (e.This == root || !under[e.Parent]) {
			continue
		}
		events = append(events, e)
	}
	return events
}

// cache is what the sensor remembers: every suspicious process start, then
// a DNS request and a TCP connection by the last of them, linked by atoms.
func (h *Host) cache() []Event {
	var out []Event
	var last process
	for _, p := range h.img.procs {
		if !p.suspicious {
			continue
		}
		last = p
		out = append(out, Event{Type: "NEW_PROCESS", Payload: h.processFields(p),
			This: h.img.atom(p.pid), Parent: h.img.atom(p.ppid)})
	}
	_, intIP := h.Addresses()
	r := seeded("history", h.img.hostname)
	domain := fmt.Sprintf("%s.%s.example", randomName(r, 10), pick(r, []string{"cdn", "update", "sync"}))
	ip := fmt.Sprintf("198.51.100.%d", 1+r.IntN(254))
	return append(out,
		Event{Type: "DNS_REQUEST", Payload: map[string]any{
			"DOMAIN_NAME": domain, "IP_ADDRESS": ip, "DNS_TYPE": 1, "PROCESS_ID": last.pid,
		}, This: atomOf(h.img.hostname, "dns", domain), Parent: h.img.atom(last.pid)},
		Event{Type: "NEW_TCP4_CONNECTION", Payload: map[string]any{
			"PROCESS_ID":  last.pid,
			"SOURCE":      map[string]any{"IP_ADDRESS": intIP, "PORT": 49152 + r.IntN(10000)},
			"DESTINATION": map[string]any{"IP_ADDRESS": ip, "PORT": 443},
		}, This: atomOf(h.img.hostname, "tcp", ip), Parent: h.img.atom(last.pid)},
	)
}
