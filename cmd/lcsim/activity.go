package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
)

// narrator turns the emulated cloud's activity into one line per step, as
// it happens: tasks sent, sensor answers, detections, webhooks and what
// the service answered. It is the cloud's observer (lctest.WithObserver).
type narrator struct {
	out     *console
	sensors *sensorBook
	// verbose adds task receipts, detections, webhooks, every answer and
	// every job entry; without it only tasks, replies, failures and job
	// closures are shown.
	verbose bool
	quiet   bool   // print nothing
	indent  string // before every line
	rows    int    // table rows and text lines shown per attachment (0: all)
	// replicas tags webhook and response lines with the replica that got
	// the attempt, e.g. "[r2]", for a service with several.
	replicas bool

	mu       sync.Mutex
	webhooks map[string]string // mid of a detection webhook → sid it is about
	jobSIDs  map[string]string // job id → its first sensor
}

func newNarrator(out *console, sensors *sensorBook, verbose, quiet bool, indent string, rows int) *narrator {
	return &narrator{out: out, sensors: sensors, verbose: verbose, quiet: quiet, indent: indent, rows: rows,
		webhooks: map[string]string{}, jobSIDs: map[string]string{}}
}

// observe is the cloud's observer.
func (n *narrator) observe(a lctest.Activity) {
	lines := n.lines(a)
	if n.quiet || len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(n.indent + l + "\n")
	}
	n.out.write(b.String())
}

// lines says what a means; nothing when it is not worth a line.
func (n *narrator) lines(a lctest.Activity) []string {
	switch a.Kind {
	case lctest.ActivityTask:
		line := fmt.Sprintf("→ task %s to %s", a.What, n.sensors.label(a.SID))
		if s := n.sensors.get(a.SID); s != nil && !s.Online() {
			line += " — offline, it will not answer"
		}
		return []string{line}
	case lctest.ActivityTaskRefused:
		return []string{fmt.Sprintf("✗ task %s to %s refused: %v", a.What, n.sensors.label(a.SID), a.Err)}
	case lctest.ActivityEvent:
		return n.eventLines(a)
	case lctest.ActivityDetection:
		if !n.verbose {
			return nil
		}
		var d struct {
			Routing lctest.Routing `json:"routing"`
		}
		_ = json.Unmarshal(a.Body, &d)
		return []string{fmt.Sprintf("⇢ detection %s (%s from %s)", a.What, d.Routing.EventType, n.sensors.host(a.SID))}
	case lctest.ActivityWebhook:
		return n.webhookLines(a)
	case lctest.ActivityResponse:
		return n.responseLines(a)
	case lctest.ActivityRuleError:
		return []string{fmt.Sprintf("! %s: %v", a.What, a.Err)}
	case lctest.ActivityFault:
		return []string{fmt.Sprintf("! API call %s: %v", a.What, a.Err)}
	}
	return nil
}

func (n *narrator) eventLines(a lctest.Activity) []string {
	var ev struct {
		Event map[string]json.RawMessage `json:"event"`
	}
	_ = json.Unmarshal(a.Body, &ev)
	host := n.sensors.host(a.SID)
	if a.What == "CLOUD_NOTIFICATION" {
		if !n.verbose {
			return nil
		}
		var id string
		_ = json.Unmarshal(ev.Event["NOTIFICATION_ID"], &id)
		return []string{fmt.Sprintf("· %s received the task (%s)", host, id)}
	}
	return []string{fmt.Sprintf("← %s from %s%s", a.What, host, eventSummary(a.What, ev.Event))}
}

// eventSummary says what an event holds: the error of a RECEIPT, the
// length of each list in other events, e.g. " (9 packages)".
func eventSummary(eventType string, body map[string]json.RawMessage) string {
	if eventType == "RECEIPT" {
		var code json.Number
		var msg string
		_ = json.Unmarshal(body["ERROR"], &code)
		_ = json.Unmarshal(body["ERROR_MESSAGE"], &msg)
		if code == "" && msg == "" {
			return ""
		}
		return fmt.Sprintf(" (ERROR %s: %s)", cmp.Or(string(code), "?"), msg)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(body)) {
		var list []json.RawMessage
		if json.Unmarshal(body[k], &list) == nil && list != nil {
			parts = append(parts, fmt.Sprintf("%d %s", len(list), strings.ToLower(k)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (n *narrator) webhookLines(a lctest.Activity) []string {
	if a.What == "detection" {
		var env struct {
			Data struct {
				Routing lctest.Routing `json:"routing"`
			} `json:"data"`
		}
		if json.Unmarshal(a.Body, &env) == nil && env.Data.Routing.SID != "" {
			n.mu.Lock()
			n.webhooks[a.MID] = env.Data.Routing.SID
			n.mu.Unlock()
		}
	}
	if !n.verbose || a.What == "health" {
		return nil
	}
	line := fmt.Sprintf("» %s%s webhook to %s", n.tag(a), a.What, a.Service)
	if a.Attempt > 1 {
		line += fmt.Sprintf(" (redelivery, attempt %d)", a.Attempt)
	}
	return []string{line}
}

func (n *narrator) responseLines(a lctest.Activity) []string {
	n.mu.Lock()
	aboutSID := n.webhooks[a.MID]
	delete(n.webhooks, a.MID)
	n.mu.Unlock()
	if a.What == "health" || a.What == "heartbeat" || a.What == "schema_request" {
		return nil // Register's retries would repeat it; the commands say it once
	}
	if a.Err != nil {
		return []string{fmt.Sprintf("✗ %s%s webhook to %s failed: %v", n.tag(a), a.What, a.Service, a.Err)}
	}
	var resp struct {
		Success bool        `json:"success"`
		Retry   bool        `json:"retry"`
		Error   string      `json:"error"`
		Jobs    []jobs.Wire `json:"jobs"`
		Data    struct {
			Jobs []jobs.Wire `json:"jobs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.Body, &resp); err != nil {
		return []string{fmt.Sprintf("✗ %s%s answer is not a response: %v", n.tag(a), a.What, err)}
	}
	if x := a.Exchange; x != nil && x.Action != "" {
		// An extension's answer: its HTTP status says how it went, and
		// its jobs ride in data.jobs.
		resp.Success, resp.Retry, resp.Jobs = x.Response.Success, x.Response.Retry, resp.Data.Jobs
	}
	var out []string
	switch {
	case !resp.Success && resp.Retry:
		out = append(out, fmt.Sprintf("✗ %s%s answered: failed, retry asked: %s", n.tag(a), a.What, resp.Error))
	case !resp.Success:
		out = append(out, fmt.Sprintf("✗ %s%s answered: failed: %s", n.tag(a), a.What, resp.Error))
	case resp.Error != "":
		// Success with an error: done, but not all of it (a rule not stored).
		out = append(out, fmt.Sprintf("! %s%s answered: success, with an error: %s", n.tag(a), a.What, resp.Error))
	case n.verbose:
		out = append(out, fmt.Sprintf("« %s%s answered: success", n.tag(a), a.What))
	}
	for _, j := range resp.Jobs {
		out = append(out, n.jobLines(j, aboutSID)...)
	}
	return out
}

// tag is "[r2] " for an attempt replica r2 got, when the service has
// several replicas; "" otherwise.
func (n *narrator) tag(a lctest.Activity) string {
	if !n.replicas {
		return ""
	}
	return "[" + replicaName(a.Replica) + "] "
}

// jobLines reports a job or job update carried by a response.
func (n *narrator) jobLines(j jobs.Wire, aboutSID string) []string {
	n.mu.Lock()
	if len(j.Sensors) > 0 {
		if _, ok := n.jobSIDs[j.ID]; !ok {
			n.jobSIDs[j.ID] = j.Sensors[0]
		}
	}
	sid := n.jobSIDs[j.ID]
	n.mu.Unlock()
	sid = cmp.Or(sid, aboutSID)
	short := shortID(j.ID)
	var out []string
	if n.verbose {
		for _, e := range j.Hist {
			line := fmt.Sprintf("  job %s · %s", short, oneLine(e.Msg))
			out = append(out, line)
			var b strings.Builder
			for _, raw := range e.Attachments {
				renderAttachment(&b, raw, "      ", n.rows)
			}
			if b.Len() > 0 {
				out = append(out, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")...)
			}
		}
	}
	if j.End != 0 {
		line := fmt.Sprintf("✓ job %s closed", short)
		if sid != "" {
			line += " (" + n.sensors.host(sid) + ")"
		}
		out = append(out, line)
	}
	return out
}

// shortID is the first block of a UUID, enough to tell jobs apart on screen.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}
