package lctest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// run answers line on s with the built-in answers, payloads as plain JSON.
func run(t *testing.T, s *Sensor, line string) []map[string]any {
	t.Helper()
	cmd, err := ParseCommand(line)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range BuiltinAnswer(s, cmd) {
		var p map[string]any
		if err := json.Unmarshal(toJSON(e.Payload), &p); err != nil {
			t.Fatal(err)
		}
		p["_type"] = e.Type
		out = append(out, p)
	}
	return out
}

func list(t *testing.T, p map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := p[key].([]any)
	if !ok {
		t.Fatalf("%s: %q is not a list: %v", p["_type"], key, p[key])
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func hasFields(t *testing.T, what string, m map[string]any, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Errorf("%s lacks %s: %v", what, f, m)
		}
	}
}

func newSensors(t *testing.T) map[Platform]*Sensor {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	return map[Platform]*Sensor{
		Windows: org.AddSensor(SensorConfig{Hostname: "desk-1", Platform: Windows}),
		Linux:   org.AddSensor(SensorConfig{Hostname: "web-1", Platform: Linux}),
		MacOS:   org.AddSensor(SensorConfig{Hostname: "mac-1", Platform: MacOS}),
	}
}

// TestBuiltinAnswerFields checks every built-in command answers its reply
// event with LimaCharlie's field names, on every platform.
func TestBuiltinAnswerFields(t *testing.T) {
	for plat, s := range newSensors(t) {
		t.Run(plat.String(), func(t *testing.T) {
			procs := list(t, run(t, s, "os_processes")[0], "PROCESSES")
			exe := procs[len(procs)-1]["FILE_PATH"].(string)
			pid := int(procs[0]["PROCESS_ID"].(float64))
			root := exe[:strings.LastIndexAny(exe, `\/`)]
			tests := []struct {
				line      string
				eventType string
				listKey   string   // the list the fields are on, if any
				fields    []string // on each list item, or on the payload
			}{
				{"os_packages", "OS_PACKAGES_REP", "PACKAGES", []string{"PACKAGE_NAME", "PACKAGE_VERSION"}},
				{"os_processes", "OS_PROCESSES_REP", "PROCESSES", []string{"PROCESS_ID", "PARENT_PROCESS_ID", "FILE_PATH", "COMMAND_LINE", "USER_NAME", "HASH"}},
				{fmt.Sprintf("os_processes -p %d", pid), "OS_PROCESSES_REP", "PROCESSES", []string{"PROCESS_ID", "FILE_PATH"}},
				{"os_services", "OS_SERVICES_REP", "SVCS", []string{"SVC_NAME", "SVC_DISPLAY_NAME", "SVC_STATE", "PROCESS_ID", "EXECUTABLE"}},
				{"os_autoruns", "OS_AUTORUNS_REP", "AUTORUNS", []string{"REGISTRY_KEY", "FILE_PATH", "HASH"}},
				{"os_version", "OS_VERSION_REP", "", []string{"BUILD_NUMBER"}},
				{"os_users", "OS_USERS_REP", "USERS", []string{"USER_NAME"}},
				{fmt.Sprintf(`dir_list "%s" *`, root), "DIR_LIST_REP", "DIRECTORY_LIST", []string{"FILE_NAME", "FILE_PATH", "FILE_SIZE", "MODIFICATION_TIME"}},
				{fmt.Sprintf(`file_info "%s"`, exe), "FILE_INFO_REP", "", []string{"FILE_PATH", "FILE_SIZE", "MODIFICATION_TIME", "FILE_IS_SIGNED"}},
				{fmt.Sprintf(`file_hash "%s"`, exe), "FILE_HASH_REP", "", []string{"FILE_PATH", "HASH", "FILE_IS_SIGNED"}},
				{fmt.Sprintf(`file_get "%s"`, exe), "FILE_GET_REP", "", []string{"FILE_PATH", "FILE_SIZE", "FILE_CONTENT"}},
				{"netstat", "NETSTAT_REP", "NETWORK_ACTIVITY", []string{"PROTOCOL", "SOURCE", "DESTINATION", "PROCESS_ID", "STATE"}},
				{"yara_scan hive://yara/rule", "YARA_DETECTION", "", []string{"RULE_NAME", "FILE_PATH", "HASH"}},
				{"history_dump", "HISTORY_DUMP_REP", "", nil},
				{"put --payload-name tool --payload-path /tmp/tool", "RECEIPT", "", []string{"ERROR", "ERROR_MESSAGE"}},
				{"run --shell-command whoami", "RECEIPT", "", []string{"ERROR", "ERROR_MESSAGE"}},
			}
			for _, tt := range tests {
				t.Run(tt.line, func(t *testing.T) {
					events := run(t, s, tt.line)
					first := events[0]
					if first["_type"] != tt.eventType {
						t.Fatalf("first event %v, want %s: %v", first["_type"], tt.eventType, first)
					}
					if code, ok := first["ERROR"].(float64); ok && code != 0 {
						t.Fatalf("answered an error: %v", first)
					}
					if tt.listKey == "" {
						hasFields(t, tt.eventType, first, tt.fields...)
						return
					}
					items := list(t, first, tt.listKey)
					if len(items) == 0 {
						t.Fatalf("%s is empty", tt.listKey)
					}
					for _, it := range items {
						hasFields(t, tt.listKey, it, tt.fields...)
					}
				})
			}
			for _, c := range list(t, run(t, s, "netstat")[0], "NETWORK_ACTIVITY") {
				hasFields(t, "SOURCE", c["SOURCE"].(map[string]any), "IP_ADDRESS", "PORT")
				hasFields(t, "DESTINATION", c["DESTINATION"].(map[string]any), "IP_ADDRESS", "PORT")
			}
			killed := run(t, s, fmt.Sprintf("os_kill_process -p %d", pid))
			if killed[0]["_type"] != "OS_KILL_PROCESS_REP" || killed[0]["ERROR"] != float64(0) || killed[0]["PROCESS_ID"] != float64(pid) {
				t.Errorf("os_kill_process = %v", killed)
			}
		})
	}
}

func TestBuiltinAnswersAreDeterministic(t *testing.T) {
	a, b := newSensors(t), newSensors(t)
	lines := []string{"os_packages", "os_processes", "os_services", "os_autoruns", "os_version", "os_users",
		"netstat", "yara_scan r", "history_dump", "file_hash /etc/hosts", "file_get /etc/hosts"}
	for plat := range a {
		for _, line := range lines {
			if line == "file_hash /etc/hosts" && plat == Windows {
				line = `file_hash C:\Windows\System32\drivers\etc\hosts`
			}
			if line == "file_get /etc/hosts" && plat == Windows {
				line = `file_get C:\Windows\System32\drivers\etc\hosts`
			}
			if x, y := run(t, a[plat], line), run(t, b[plat], line); !reflect.DeepEqual(x, y) {
				t.Errorf("%s %s differs between runs:\n%v\n%v", plat, line, x, y)
			}
		}
	}
	// Another hostname is another machine.
	c := newTestCloud(t)
	other := c.NewOrg("o").AddSensor(SensorConfig{Hostname: "desk-2", Platform: Windows})
	if reflect.DeepEqual(run(t, a[Windows], "os_processes"), run(t, other, "os_processes")) {
		t.Error("two hostnames answer the same os_processes")
	}
}

func TestFakeHostIsCoherent(t *testing.T) {
	for plat, s := range newSensors(t) {
		t.Run(plat.String(), func(t *testing.T) {
			var outside, system []map[string]any
			for _, p := range list(t, run(t, s, "os_processes")[0], "PROCESSES") {
				path := p["FILE_PATH"].(string)
				switch {
				case plat == Windows && !strings.HasPrefix(path, `C:\`),
					plat != Windows && !strings.HasPrefix(path, "/"):
					t.Errorf("%s path on %s: %s", plat, s.Hostname(), path)
				}
				if strings.Contains(strings.ToLower(path), "downloads") || strings.Contains(path, "tmp") || strings.Contains(path, "Temp") {
					outside = append(outside, p)
				} else {
					system = append(system, p)
				}
				// A process's HASH is the file_hash of its image.
				h := run(t, s, fmt.Sprintf(`file_hash "%s"`, path))[0]
				if h["HASH"] != p["HASH"] {
					t.Errorf("%s: process HASH %v, file_hash %v", path, p["HASH"], h["HASH"])
				}
			}
			if len(outside) < 2 || len(system) < 4 {
				t.Fatalf("%d processes outside system directories and %d inside, want ≥2 and ≥4", len(outside), len(system))
			}

			// file_get's content hashes to file_hash and has file_info's size.
			path := outside[0]["FILE_PATH"].(string)
			got := run(t, s, fmt.Sprintf(`file_get "%s"`, path))[0]
			content, err := base64.StdEncoding.DecodeString(got["FILE_CONTENT"].(string))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(content)
			info := run(t, s, fmt.Sprintf(`file_info "%s"`, path))[0]
			if hex.EncodeToString(sum[:]) != outside[0]["HASH"] || float64(len(content)) != info["FILE_SIZE"] || info["FILE_SIZE"] != got["FILE_SIZE"] {
				t.Errorf("file_get, file_info and HASH disagree for %s", path)
			}
			if info["FILE_IS_SIGNED"] != float64(0) {
				t.Errorf("%s is signed", path)
			}
			sysPath := system[0]["FILE_PATH"].(string)
			wantSigned := float64(1)
			if plat == Linux {
				wantSigned = 0
			}
			if got := run(t, s, fmt.Sprintf(`file_hash "%s"`, sysPath))[0]["FILE_IS_SIGNED"]; got != wantSigned {
				t.Errorf("%s FILE_IS_SIGNED = %v, want %v", sysPath, got, wantSigned)
			}

			// yara_scan hits exactly the processes outside system directories.
			hits := run(t, s, "yara_scan hive://yara/evil")
			if len(hits) != len(outside)+1 || hits[len(hits)-1]["ERROR_MESSAGE"] != "done" {
				t.Errorf("yara_scan = %v, want %d hits then done", hits, len(outside))
			}
			byPID := run(t, s, fmt.Sprintf("yara_scan -p %v r", outside[0]["PROCESS_ID"]))
			clean := run(t, s, fmt.Sprintf("yara_scan --pid %v r", system[0]["PROCESS_ID"]))
			byFile := run(t, s, fmt.Sprintf(`yara_scan -f "%s" r`, strings.ToUpper(path)))
			if len(byPID) != 2 || len(clean) != 1 || (len(byFile) != 2) != (plat == Linux) {
				t.Errorf("targeted scans: by pid %d, clean %d, by file %d events", len(byPID), len(clean), len(byFile))
			}

			// dir_list finds the process image in its directory.
			dir := path[:strings.LastIndexAny(path, `\/`)]
			name := path[len(dir)+1:]
			entries := list(t, run(t, s, fmt.Sprintf(`dir_list "%s" *`, dir))[0], "DIRECTORY_LIST")
			found := false
			for _, e := range entries {
				found = found || (e["FILE_PATH"] == path && e["FILE_NAME"] == name)
			}
			if !found {
				t.Errorf("dir_list %s = %v, lacks %s", dir, entries, path)
			}
			if n := len(list(t, run(t, s, fmt.Sprintf(`dir_list "%s" nomatch*`, dir))[0], "DIRECTORY_LIST")); n != 0 {
				t.Errorf("dir_list with a glob that matches nothing listed %d", n)
			}

			// Killing a process removes it from later answers.
			pid := outside[0]["PROCESS_ID"]
			if r := run(t, s, fmt.Sprintf("os_kill_process -p %v", pid))[0]; r["ERROR"] != float64(0) {
				t.Fatalf("kill = %v", r)
			}
			if r := run(t, s, fmt.Sprintf("os_kill_process -p %v", pid))[0]; r["ERROR"] == float64(0) {
				t.Errorf("killing twice succeeded: %v", r)
			}
			one := run(t, s, fmt.Sprintf("os_processes -p %v", pid))[0]
			if len(list(t, one, "PROCESSES")) != 0 || one["ERROR"] == nil {
				t.Errorf("os_processes -p of a killed process = %v", one)
			}
		})
	}
}

func TestDirListDepth(t *testing.T) {
	s := newSensors(t)[Windows]
	home := `C:\Users\` + s.host.user
	tests := []struct {
		line string
		want int
	}{
		{fmt.Sprintf(`dir_list "%s" *.docx`, home+`\Documents`), 1},
		{fmt.Sprintf(`dir_list %s *.DOCX`, home+`\documents\`), 1}, // case-insensitive, trailing separator
		{fmt.Sprintf(`dir_list "%s" *`, home), 0},
		{fmt.Sprintf(`dir_list -d 2 "%s" *.docx`, home), 1},
		{fmt.Sprintf(`dir_list --depth 9 "%s" *.exe`, home), 2},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := len(list(t, run(t, s, tt.line)[0], "DIRECTORY_LIST")); got != tt.want {
				t.Fatalf("%d entries, want %d", got, tt.want)
			}
		})
	}
}

func TestBuiltinBadArguments(t *testing.T) {
	s := newSensors(t)[Linux]
	lines := []string{
		"no_such_command", "os_packages extra", "os_version -x", "os_processes -p", "os_processes -p abc",
		"os_processes --bogus 1", "os_processes stray", "os_kill_process", "os_kill_process -p -3", "os_kill_process 12",
		"file_get", "file_get a b", "file_get relative/path", "file_info", "file_hash C:\\on\\linux",
		"dir_list /", "dir_list -d 0 / *", "dir_list -d x / *", "dir_list / [", "dir_list rel *",
		"yara_scan", "yara_scan -p 1 -f /x r", "yara_scan -p 999999 r", "yara_scan -p", "put", "run",
		"netstat -a", "history_dump now", "os_services x", "os_autoruns x", "os_users x",
	}
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			events := run(t, s, line)
			if len(events) != 1 || events[0]["_type"] != "RECEIPT" {
				t.Fatalf("answer = %v, want one RECEIPT", events)
			}
			if code, _ := events[0]["ERROR"].(float64); code == 0 || code == 200 || events[0]["ERROR_MESSAGE"] == "" {
				t.Fatalf("RECEIPT = %v, want a failure code and a message", events[0])
			}
		})
	}
}

func TestSensorDefaults(t *testing.T) {
	c := newTestCloud(t)
	org := c.NewOrg("acme")
	s1 := org.AddSensor(SensorConfig{})
	s2 := org.AddSensor(SensorConfig{Platform: Platform(0x70000000), Arch: ARM, Tags: []string{"a"}})
	if s1.Hostname() != "sensor-1" || s2.Hostname() != "sensor-2" || s1.Platform() != Windows || s1.Arch() != X64 || !s1.Online() {
		t.Errorf("defaults: %s %v %v online=%v", s1.Hostname(), s1.Platform(), s1.Arch(), s1.Online())
	}
	if s2.Org() != org || len(org.Sensors()) != 2 || s2.Tags()[0] != "a" || len(s1.Tags()) != 0 {
		t.Error("sensor bookkeeping is wrong")
	}
	// An unknown platform answers like Linux.
	if p := list(t, run(t, s2, "os_processes")[0], "PROCESSES")[0]["FILE_PATH"].(string); !strings.HasPrefix(p, "/") {
		t.Errorf("unknown platform path %s", p)
	}
	if s2.Platform().String() != "Platform(0x70000000)" || Arch(9).String() != "Arch(9)" || MacOS.String() != "macos" || ARM64.String() != "arm64" {
		t.Error("String methods")
	}
	s1.SetLatency(-1)
	if s1.Latency() != 0 {
		t.Error("negative latency kept")
	}
	if len(BuiltinCommands()) != 16 {
		t.Errorf("BuiltinCommands = %v", BuiltinCommands())
	}
	for _, name := range BuiltinCommands() {
		if _, ok := builtinFor(name); !ok {
			t.Errorf("BuiltinCommands lists %s, which has no answer", name)
		}
	}
}
