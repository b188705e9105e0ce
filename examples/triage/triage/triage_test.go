package triage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/triage/triage"
	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/lctest"
)

// wantRow is one row the final table must hold.
type wantRow struct {
	pid            int64
	path           string
	sha256, signer string
}

func (r wantRow) cells() []any { return []any{r.path, r.pid, r.sha256, r.signer} }

// expected computes the rows of a triage of s from what the fake sensor
// itself reports: the processes for which userFile holds, hashed as the
// sensor hashes them (override changes a row, for scripted answers).
func expected(t *testing.T, s *lctest.Sensor, userFile func(string) bool, override func(*wantRow)) []wantRow {
	t.Helper()
	var rows []wantRow
	for _, p := range processesOf(t, lctest.BuiltinAnswer(s, lctest.Command{Name: "os_processes", Line: "os_processes"})) {
		if !userFile(p.Path) {
			continue
		}
		r := wantRow{pid: p.PID, path: p.Path}
		r.sha256, r.signer = builtinHash(t, s, p.Path)
		if override != nil {
			override(&r)
		}
		rows = append(rows, r)
	}
	return rows
}

// checkCompleted asserts the whole investigation in job id: the selection,
// one entry per file, the final table, the job closed.
func checkCompleted(t *testing.T, w *world, id string, s *lctest.Sensor, want []wantRow) {
	t.Helper()
	j := w.job(t, id)
	if j.End == 0 || len(j.Sensors) != 1 || j.Sensors[0] != s.SID {
		t.Fatalf("job not closed or wrong sensors: %+v\n%s", j, history(j))
	}
	n := len(want)
	sel := entry(t, j, fmt.Sprintf("%d of ", n))
	if !strings.Contains(sel.Msg, "processes on "+s.Hostname()+" run from outside the system directories") {
		t.Errorf("selection entry: %q", sel.Msg)
	}
	var selRows, allRows [][]any
	for i, r := range want {
		selRows = append(selRows, []any{r.pid, r.path})
		allRows = append(allRows, r.cells())
		caption := fmt.Sprintf("file %d of %d", i+1, n)
		e := entry(t, j, caption+": ")
		tb := tablesOf(t, e)
		if len(tb) != 1 || tb[0].Caption != caption || strings.Join(tb[0].Headers, ",") != "path,pid,sha256,signer" {
			t.Fatalf("%s: tables %+v", caption, tb)
		}
		sameRows(t, caption, tb[0].Rows, [][]any{r.cells()})
	}
	if tb := tablesOf(t, sel); len(tb) != 1 || strings.Join(tb[0].Headers, ",") != "pid,path" {
		t.Errorf("selection tables %+v", tb)
	} else {
		sameRows(t, "selection", tb[0].Rows, selRows)
	}
	final := entry(t, j, "triage of "+s.Hostname()+" finished: ")
	tb := tablesOf(t, final)
	if len(tb) != 1 || tb[0].Caption != fmt.Sprintf("all %d files", n) || !final.Important {
		t.Fatalf("final entry %+v with tables %+v", final, tb)
	}
	sameRows(t, "final", tb[0].Rows, allRows)
	if w.cached() != 0 {
		t.Errorf("%d jobs left in the row cache after close", w.cached())
	}
}

// fileHashes returns the file_hash command lines for rows.
func fileHashes(rows []wantRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, interactive.CommandLine("file_hash", r.path))
	}
	return out
}

func sameCommands(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands\n got %q\nwant %q", got, want)
	}
}

func underAny(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}
}

func TestTriageCompletes(t *testing.T) {
	const bobsTool = `/home/bob/it's a "tool"/run`
	for _, tc := range []struct {
		name     string
		sensor   lctest.SensorConfig
		userFile func(string) bool
		script   func(s *lctest.Sensor) func(*wantRow) // scripted answers, and how they change the rows
		viaRule  bool                                  // the detection comes from a D&R rule on an emitted event
	}{
		{name: "windows", sensor: lctest.SensorConfig{Hostname: "win-1", Platform: lctest.Windows},
			userFile: underAny(`C:\Users\`)},
		{name: "linux, detection from a rule", sensor: lctest.SensorConfig{Hostname: "web-1", Platform: lctest.Linux},
			userFile: underAny("/home/", "/tmp/"), viaRule: true},
		{name: "quoting, errors and signatures", sensor: lctest.SensorConfig{Hostname: "web-2", Platform: lctest.Linux},
			userFile: underAny("/home/", "/tmp/"), script: func(s *lctest.Sensor) func(*wantRow) {
				s.Answer("os_processes", func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
					evs := lctest.BuiltinAnswer(s, cmd)
					evs[0].Payload["PROCESSES"] = append(evs[0].Payload["PROCESSES"].([]map[string]any),
						map[string]any{"PROCESS_ID": 31337, "FILE_PATH": bobsTool})
					return evs
				})
				s.Answer("file_hash", func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
					switch {
					case strings.HasPrefix(cmd.Args[0], "/home/") && cmd.Args[0] != bobsTool:
						return []lctest.Event{lctest.Receipt(5, "access denied")}
					case cmd.Args[0] == bobsTool:
						evs := lctest.BuiltinAnswer(s, cmd)
						evs[0].Payload["FILE_IS_SIGNED"] = 1
						return evs
					}
					return lctest.BuiltinAnswer(s, cmd)
				})
				return func(r *wantRow) {
					switch {
					case r.path == bobsTool:
						r.signer = "signed"
					case strings.HasPrefix(r.path, "/home/"):
						r.sha256, r.signer = "sensor reported error 5: access denied", "n/a"
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{})
			if rule, ok := w.org.Rule("managed", "svc-triage-ex"); !ok || !rule.Enabled {
				t.Fatal("install did not store the replicant rule")
			}
			s := w.org.AddSensor(tc.sensor)
			var override func(*wantRow)
			if tc.script != nil {
				override = tc.script(s)
			}
			want := expected(t, s, tc.userFile, nil)
			if tc.script != nil {
				want = append(want, wantRow{pid: 31337, path: bobsTool})
				want[len(want)-1].sha256, want[len(want)-1].signer = builtinHash(t, s, bobsTool)
				for i := range want {
					override(&want[i])
				}
			}
			if len(want) < 2 {
				t.Fatalf("the fake host has %d user processes; the test wants several", len(want))
			}

			var id string
			if tc.viaRule {
				id = detectViaRule(t, w, s, want[0].path)
			} else {
				id = w.detect(t, s)
			}
			w.waitIdle(t)

			sameCommands(t, commands(w.org), append([]string{"os_processes"}, fileHashes(want)...))
			checkCompleted(t, w, id, s, want)
			if st := w.is.Stats(); st.RoutedNamed != int64(1+len(want)) || st.Refused != 0 || st.Orphans != 0 || st.Pending.Pending != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// detectViaRule stores a D&R rule reporting the triage's detection and has
// s emit an event it matches; the cloud delivers the detection because the
// service subscribes to it.
func detectViaRule(t *testing.T, w *world, s *lctest.Sensor, path string) string {
	t.Helper()
	err := w.org.SetRule(lctest.StoredRule{
		Name: "exec-from-home", Enabled: true,
		Detect:  []byte(`{"event":"NEW_PROCESS","op":"starts with","path":"event/FILE_PATH","value":"/home/"}`),
		Respond: []byte(`[{"action":"report","name":"` + triage.DefaultDetection + `"}]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(t.Context(), lctest.Event{Type: "NEW_PROCESS", Payload: map[string]any{"FILE_PATH": path, "PROCESS_ID": 4242}}); err != nil {
		t.Fatal(err)
	}
	for _, j := range w.svc.Jobs() {
		if j.Cause == "triage of "+triage.DefaultDetection+" on "+s.Hostname() {
			return j.ID
		}
	}
	t.Fatalf("the rule's detection opened no job; detections: %+v", w.svc.Detections())
	return ""
}

func TestOtherDetectionsIgnored(t *testing.T) {
	w := newWorld(t, worldConfig{})
	s := w.org.AddSensor(lctest.SensorConfig{Hostname: "win-9"})
	res, err := w.svc.Deliver(t.Context(), "detection", w.org, lctest.Detection{
		Cat: "port-scan", Routing: lctest.Routing{OID: w.org.OID, SID: s.SID, EventType: "NETWORK_CONNECTIONS"},
	})
	if err != nil || !res.Success || len(res.Jobs) != 0 {
		t.Errorf("other detection: %+v %v", res, err)
	}
	res, err = w.svc.Deliver(t.Context(), "detection", w.org, map[string]any{"cat": triage.DefaultDetection, "routing": map[string]any{}})
	if err != nil || res.Success || !strings.Contains(res.Error, "routing.sid") {
		t.Errorf("detection without sid: %+v %v", res, err)
	}
	w.waitIdle(t)
	if n := len(w.org.Tasks()); n != 0 {
		t.Errorf("%d tasks", n)
	}
	if subs := w.svc.Subscriptions(); len(subs) != 2 || !slices.Contains(subs, triage.DefaultDetection) {
		t.Errorf("subscriptions = %v", subs)
	}
}

// TestRestartMidInvestigation replaces the service process between two
// file_hash answers: the fresh one, with an empty tracking table, carries
// the investigation on from the tokens alone.
func TestRestartMidInvestigation(t *testing.T) {
	longPaths := []string{ // long enough that the first row spills to the cache
		"/home/alice/projects/scanner/build/bin/worker-01",
		"/home/alice/projects/scanner/build/bin/worker-02",
		"/home/alice/projects/scanner/build/bin/worker-03",
	}
	for _, tc := range []struct {
		name     string
		sensor   lctest.SensorConfig
		userFile func(string) bool
		paths    []string // scripted user processes, if any
		// wantHeld is how many rows the final entry has after the restart:
		// all when they ride in the token, fewer when the old process's
		// cache held some.
		wantHeld int
	}{
		{name: "rows ride in the token", sensor: lctest.SensorConfig{Hostname: "win-2", Platform: lctest.Windows},
			userFile: underAny(`C:\Users\`), wantHeld: -1},
		{name: "rows spilled to the cache", sensor: lctest.SensorConfig{Hostname: "build-1", Platform: lctest.Linux},
			userFile: underAny("/home/"), paths: longPaths, wantHeld: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{})
			s := w.org.AddSensor(tc.sensor)
			if tc.paths != nil {
				s.Answer("os_processes", func(*lctest.Sensor, lctest.Command) []lctest.Event {
					list := []any{map[string]any{"PROCESS_ID": 1, "FILE_PATH": "/usr/lib/systemd/systemd"}}
					for i, p := range tc.paths {
						list = append(list, map[string]any{"PROCESS_ID": 500 + i, "FILE_PATH": p})
					}
					return []lctest.Event{{Type: "OS_PROCESSES_REP", Payload: map[string]any{"PROCESSES": list}}}
				})
			}
			var want []wantRow
			if tc.paths == nil {
				want = expected(t, s, tc.userFile, nil)
			} else {
				for i, p := range tc.paths {
					r := wantRow{pid: int64(500 + i), path: p}
					r.sha256, r.signer = builtinHash(t, s, p)
					want = append(want, r)
				}
			}
			reached, release := gate(t, s, 2)

			old := w.instance
			id := w.detect(t, s)
			await(t, reached, "the second file_hash")
			// The first file's answer has been handled; its successor's
			// answer waits. Restart: a fresh process behind the same URL,
			// the old one gone with its tracking table and cache.
			fresh := newInstance(t, w.cloud, time.Minute)
			w.svc.SetHandler(fresh.is)
			if err := old.is.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			release()
			w.waitIdle(t)

			sameCommands(t, commands(w.org), append([]string{"os_processes"}, fileHashes(want)...))
			if st := fresh.is.Stats(); st.RoutedNamed != int64(len(want)-1) || st.RoutedClosure != 0 || st.Orphans != 0 {
				t.Errorf("fresh process stats = %+v", st)
			}
			if st := old.is.Stats(); st.RoutedNamed != 2 { // os_processes and the first file
				t.Errorf("old process stats = %+v", st)
			}
			w.instance = fresh
			if tc.wantHeld < 0 {
				checkCompleted(t, w, id, s, want)
				return
			}
			j := w.job(t, id)
			if j.End == 0 {
				t.Fatalf("job not closed:\n%s", history(j))
			}
			for i := range want {
				entry(t, j, fmt.Sprintf("file %d of %d: ", i+1, len(want)))
			}
			final := entry(t, j, "triage of "+s.Hostname()+" finished, but this process holds only ")
			if !strings.Contains(final.Msg, fmt.Sprintf("only %d of the %d rows", tc.wantHeld, len(want))) ||
				!strings.Contains(final.Msg, "the per-file entries above hold every row") || !final.Important {
				t.Errorf("final entry %q", final.Msg)
			}
			var held [][]any
			for _, r := range want[len(want)-tc.wantHeld:] {
				held = append(held, r.cells())
			}
			if tb := tablesOf(t, final); len(tb) != 1 {
				t.Errorf("final tables %+v", tb)
			} else {
				sameRows(t, "final", tb[0].Rows, held)
			}
			if fresh.cached() != 0 {
				t.Errorf("%d jobs left in the fresh process's cache", fresh.cached())
			}
		})
	}
}

func TestSensorGoesOffline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offline   lctest.OfflineMode
		afterFile bool // offline after the first file_hash answer, else after os_processes
		wantMsg   string
		wantRows  int
	}{
		{name: "after listing processes", wantMsg: "stopped answering: file_hash of %s (file 1 of %d) got no answer within 300ms; 0 of %[2]d files were hashed before that"},
		{name: "after the first file", afterFile: true, wantRows: 1, wantMsg: "stopped answering: file_hash of %s (file 2 of %d) got no answer within 300ms; 1 of %[2]d files were hashed before that"},
		{name: "tasking refused", offline: lctest.OfflineError, afterFile: true, wantRows: 1, wantMsg: "could not task file_hash of %[1]s: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{ttl: 300 * time.Millisecond, cloud: []lctest.Option{lctest.WithOfflineTasking(tc.offline)}})
			s := w.org.AddSensor(lctest.SensorConfig{Hostname: "laptop-3", Platform: lctest.Linux})
			goOffline := func(s *lctest.Sensor, cmd lctest.Command) []lctest.Event {
				evs := lctest.BuiltinAnswer(s, cmd)
				s.SetOnline(false)
				return evs
			}
			if tc.afterFile {
				s.Answer("file_hash", goOffline)
			} else {
				s.Answer("os_processes", goOffline)
			}
			want := expected(t, s, underAny("/home/", "/tmp/"), nil)
			id := w.detect(t, s)
			w.waitIdle(t)

			stuck := want[tc.wantRows]
			var j = w.job(t, id)
			if tc.offline == lctest.OfflineSilent {
				if j.End != 0 {
					t.Fatalf("job closed before the timeout:\n%s", history(j))
				}
				j = w.flush(t, id)
				if st := w.is.Stats(); st.TimedOut != 1 {
					t.Errorf("stats = %+v", st)
				}
			} else if j.End == 0 {
				t.Fatalf("a refused task left the job open:\n%s", history(j))
			}
			prefix := "sensor " + s.SID + " "
			if tc.offline == lctest.OfflineError {
				prefix = ""
			}
			e := entry(t, j, prefix+fmt.Sprintf(tc.wantMsg, stuck.path, len(want)))
			if !e.Important {
				t.Error("the stop is not important")
			}
			if tb := tablesOf(t, e); tc.wantRows == 0 && len(tb) != 0 {
				t.Errorf("tables %+v, want none", tb)
			} else if tc.wantRows > 0 {
				if len(tb) != 1 || tb[0].Caption != "files hashed so far" {
					t.Fatalf("tables %+v", tb)
				}
				sameRows(t, "collected", tb[0].Rows, [][]any{want[0].cells()})
			}
			if w.cached() != 0 {
				t.Errorf("%d jobs left in the row cache", w.cached())
			}
		})
	}
}

func TestForgottenRuleLeavesJobOpen(t *testing.T) {
	for _, tc := range []struct {
		name       string
		install    bool
		deleteRule bool
	}{
		{name: "never installed"},
		{name: "rule deleted", install: true, deleteRule: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{noInstall: !tc.install})
			if tc.deleteRule && !w.org.DeleteRule("managed", "svc-triage-ex") {
				t.Fatal("no rule to delete")
			}
			s := w.org.AddSensor(lctest.SensorConfig{Hostname: "win-5", Platform: lctest.Windows})
			id := w.detect(t, s)
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			if err := w.cloud.WaitIdle(ctx); err != nil {
				t.Fatal("WaitIdle did not return:", err)
			}
			sameCommands(t, commands(w.org), []string{"os_processes"})
			if n := len(w.svc.Detections()); n != 0 {
				t.Errorf("%d detections came back without the rule", n)
			}
			j := w.job(t, id)
			if j.End != 0 || len(j.Hist) != 1 {
				t.Errorf("job = %+v\n%s", j, history(j))
			}
			if st := w.is.Stats(); st.RoutedNamed != 0 || st.Pending.Pending != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestLongQueueIsCut lists more user processes than the token can carry:
// the first ones are hashed, the rest are narrated as left out.
func TestLongQueueIsCut(t *testing.T) {
	w := newWorld(t, worldConfig{})
	s := w.org.AddSensor(lctest.SensorConfig{Hostname: "farm-1", Platform: lctest.Linux})
	const total = 30
	var all []wantRow
	list := []any{map[string]any{"PROCESS_ID": 1, "FILE_PATH": "/usr/lib/systemd/systemd"}}
	for i := range total {
		r := wantRow{pid: int64(2000 + i), path: fmt.Sprintf("/home/alice/bin/tool-%02d", i)}
		r.sha256, r.signer = builtinHash(t, s, r.path)
		all = append(all, r)
		list = append(list, map[string]any{"PROCESS_ID": r.pid, "FILE_PATH": r.path})
	}
	s.Answer("os_processes", func(*lctest.Sensor, lctest.Command) []lctest.Event {
		return []lctest.Event{{Type: "OS_PROCESSES_REP", Payload: map[string]any{"PROCESSES": list}}}
	})
	id := w.detect(t, s)
	w.waitIdle(t)

	hashed := len(commands(w.org)) - 1
	if hashed < 1 || hashed >= total {
		t.Fatalf("%d files hashed of %d", hashed, total)
	}
	kept, left := all[:hashed], all[hashed:]
	sameCommands(t, commands(w.org), append([]string{"os_processes"}, fileHashes(kept)...))
	j := w.job(t, id)
	cut := entry(t, j, fmt.Sprintf("hashing the first %d of %d files; %d left out: ", hashed, total, total-hashed))
	if !cut.Important || !strings.Contains(cut.Msg, "256-byte") {
		t.Errorf("cut entry %+v", cut)
	}
	var leftRows [][]any
	for _, r := range left {
		leftRows = append(leftRows, []any{r.pid, r.path})
	}
	if tb := tablesOf(t, cut); len(tb) != 1 || tb[0].Caption != "processes left out" {
		t.Errorf("cut tables %+v", tb)
	} else {
		sameRows(t, "left out", tb[0].Rows, leftRows)
	}
	// The rows outgrow the token after the first file: the final table
	// comes from the cache, which the close empties.
	final := entry(t, j, "triage of farm-1 finished: ")
	var keptRows [][]any
	for _, r := range kept {
		keptRows = append(keptRows, r.cells())
	}
	if tb := tablesOf(t, final); len(tb) != 1 || j.End == 0 {
		t.Errorf("final tables %+v, end %d", tb, j.End)
	} else {
		sameRows(t, "final", tb[0].Rows, keptRows)
	}
	if w.cached() != 0 {
		t.Errorf("%d jobs left in the row cache", w.cached())
	}
	t.Logf("%d of %d files fit in the token", hashed, total)
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		secret string
		o      triage.Options
		want   string
	}{
		"no secret":       {"", triage.Options{}, "LC_SHARED_SECRET"},
		"negative TTL":    {"s", triage.Options{TTL: -time.Second}, "Options.TTL"},
		"empty detection": {"s", triage.Options{Detections: []string{""}}, "empty category"},
	} {
		if _, err := triage.New(tc.secret, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
	}
}
