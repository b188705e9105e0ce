package host

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestAnswerFields checks every built-in command answers its reply event
// with the fields of the EDR events reference, on every platform, and
// none of the fields no public sample shows.
func TestAnswerFields(t *testing.T) {
	for plat, h := range newHosts(EventsReference) {
		t.Run(plat.String(), func(t *testing.T) {
			ps := procs(t, h)
			exe := ps[len(ps)-1]["FILE_PATH"].(string)
			pid := int(ps[0]["PROCESS_ID"].(float64))
			root := exe[:strings.LastIndexAny(exe, `\/`)]
			tests := []struct {
				line      string
				eventType string
				listKey   string   // the list the fields are on, if any
				fields    []string // on each list item, or on the payload
				invented  []string // fields no public sample shows
			}{
				{"os_packages", "OS_PACKAGES_REP", "PACKAGES", []string{"PACKAGE_NAME"}, []string{"NAME", "VERSION"}},
				{"os_processes", "OS_PROCESSES_REP", "PROCESSES", []string{"PROCESS_ID", "PARENT_PROCESS_ID", "FILE_PATH", "COMMAND_LINE", "USER_NAME", "HASH"}, nil},
				{fmt.Sprintf("os_processes --pid %d", pid), "OS_PROCESSES_REP", "PROCESSES", []string{"PROCESS_ID", "FILE_PATH"}, nil},
				{"os_services", "OS_SERVICES_REP", "SVCS", []string{"SVC_NAME", "SVC_DISPLAY_NAME", "SVC_STATE", "SVC_TYPE", "PROCESS_ID", "EXECUTABLE", "HASH"}, nil},
				{"os_autoruns", "OS_AUTORUNS_REP", "AUTORUNS", []string{"REGISTRY_KEY", "FILE_PATH", "HASH"}, nil},
				{"os_version", "OS_VERSION_REP", "", []string{"BUILD_NUMBER"}, []string{"VERSION_MAJOR", "VERSION_MINOR"}},
				{"os_users", "OS_USERS_REP", "USERS", []string{"USER_NAME"}, nil},
				{fmt.Sprintf(`dir_list "%s" *`, root), "DIR_LIST_REP", "DIRECTORY_LIST",
					[]string{"FILE_NAME", "FILE_PATH", "FILE_SIZE", "CREATION_TIME", "MODIFICATION_TIME", "ACCESS_TIME", "ATTRIBUTES"}, []string{"LAST_MODIFIED"}},
				{fmt.Sprintf(`file_info "%s"`, exe), "FILE_INFO_REP", "",
					[]string{"FILE_PATH", "FILE_SIZE", "CREATION_TIME", "MODIFICATION_TIME", "ACCESS_TIME", "ATTRIBUTES", "FILE_IS_SIGNED"}, nil},
				{fmt.Sprintf(`file_hash "%s"`, exe), "FILE_HASH_REP", "", []string{"FILE_PATH", "HASH", "FILE_IS_SIGNED", "SIGNATURE"}, []string{"MD5", "SHA1", "SHA256"}},
				{fmt.Sprintf(`file_get "%s"`, exe), "FILE_GET_REP", "", []string{"FILE_PATH", "FILE_SIZE", "FILE_CONTENT"}, nil},
				{"netstat", "NETSTAT_REP", "NETWORK_ACTIVITY", []string{"PROTOCOL", "SOURCE", "DESTINATION", "PROCESS_ID"}, []string{"STATE"}},
				{"yara_scan hive://yara/rule", "YARA_DETECTION", "", []string{"RULE_NAME", "FILE_PATH", "HASH"}, nil},
				{"history_dump", "HISTORY_DUMP_REP", "", nil, nil},
				{"put --payload-name tool --payload-path /tmp/tool", "RECEIPT", "", []string{"ERROR", "ERROR_MESSAGE"}, nil},
				{"run --shell-command whoami", "RECEIPT", "", []string{"ERROR", "ERROR_MESSAGE"}, nil},
			}
			for _, tt := range tests {
				t.Run(tt.line, func(t *testing.T) {
					first := run(t, h, tt.line)[0]
					if first["_type"] != tt.eventType {
						t.Fatalf("first event %v, want %s: %v", first["_type"], tt.eventType, first)
					}
					if code, ok := first["ERROR"].(float64); ok && code != 0 {
						t.Fatalf("answered an error: %v", first)
					}
					if tt.listKey == "" {
						hasFields(t, tt.eventType, first, tt.fields...)
						lacksFields(t, tt.eventType, first, tt.invented...)
						return
					}
					lacksFields(t, tt.eventType, first, "ERROR", "ROOT")
					items := list(t, first, tt.listKey)
					if len(items) == 0 {
						t.Fatalf("%s is empty", tt.listKey)
					}
					for _, it := range items {
						hasFields(t, tt.listKey, it, tt.fields...)
						lacksFields(t, tt.listKey, it, tt.invented...)
					}
				})
			}
			if ar := run(t, h, "os_autoruns")[0]; ar["TIMESTAMP"] != float64(fixedNow().Unix()) {
				t.Errorf("OS_AUTORUNS_REP TIMESTAMP = %v, want the time of the answer in epoch seconds", ar["TIMESTAMP"])
			}
			ns := run(t, h, "netstat")[0]
			if ns["FRIENDLY"] != float64(0) {
				t.Errorf("NETSTAT_REP FRIENDLY = %v", ns["FRIENDLY"])
			}
			for _, c := range list(t, ns, "NETWORK_ACTIVITY") {
				hasFields(t, "SOURCE", c["SOURCE"].(map[string]any), "IP_ADDRESS", "PORT")
				hasFields(t, "DESTINATION", c["DESTINATION"].(map[string]any), "IP_ADDRESS", "PORT")
			}
			killed := run(t, h, fmt.Sprintf("os_kill_process --pid %d", pid))[0]
			if killed["_type"] != "OS_KILL_PROCESS_REP" || killed["ERROR"] != float64(0) || killed["PROCESS_ID"] != float64(pid) {
				t.Errorf("os_kill_process = %v", killed)
			}
		})
	}
}

// TestServicesAndPackages checks the fields only some entries have: a
// shared service's DLL, a package's missing version.
func TestServicesAndPackages(t *testing.T) {
	h := newHosts(EventsReference)[Windows]
	var shared, own int
	for _, s := range list(t, run(t, h, "os_services")[0], "SVCS") {
		switch s["SVC_TYPE"] {
		case float64(32):
			shared++
			if dll, _ := s["DLL"].(string); !strings.HasSuffix(strings.ToLower(dll), ".dll") || !strings.Contains(s["EXECUTABLE"].(string), "svchost.exe -k") {
				t.Errorf("shared service without its DLL: %v", s)
			}
		case float64(16):
			own++
			lacksFields(t, "own-process service", s, "DLL")
		default:
			t.Errorf("SVC_TYPE %v", s["SVC_TYPE"])
		}
		if exe := s["EXECUTABLE"].(string); strings.HasPrefix(exe, `C:\Windows`) {
			t.Errorf("EXECUTABLE %q, want it under %%SystemRoot%% as the registry names it", exe)
		}
	}
	if shared == 0 || own == 0 {
		t.Errorf("%d shared and %d own-process services, want both", shared, own)
	}
	missing := 0
	for _, p := range list(t, run(t, h, "os_packages")[0], "PACKAGES") {
		if _, ok := p["PACKAGE_VERSION"]; !ok {
			missing++
		}
	}
	if missing == 0 {
		t.Error("every Windows package has a version; real uninstall entries sometimes lack one")
	}
}

// TestCommandsReferenceDialect checks the other documented shapes.
func TestCommandsReferenceDialect(t *testing.T) {
	h := newHosts(CommandsReference)[Linux]
	ps := run(t, h, "os_processes")
	if len(ps) < 5 || ps[0]["_type"] != "EXISTING_PROCESS" {
		t.Fatalf("os_processes = %v, want one EXISTING_PROCESS per process", ps)
	}
	hasFields(t, "EXISTING_PROCESS", ps[0], "PROCESS_ID", "PARENT_PROCESS_ID", "COMMAND_LINE", "FILE_PATH", "USER_NAME")
	ns := run(t, h, "netstat")[0]
	if ns["_type"] != "NETWORK_CONNECTIONS" {
		t.Fatalf("netstat = %v", ns)
	}
	hasFields(t, "NETWORK_ACTIVITY", list(t, ns, "NETWORK_ACTIVITY")[0], "STATE", "LOCAL_ADDRESS", "LOCAL_PORT", "REMOTE_ADDRESS", "REMOTE_PORT", "PID", "PROCESS")
	hasFields(t, "PACKAGES", list(t, run(t, h, "os_packages")[0], "PACKAGES")[0], "NAME", "VERSION", "PUBLISHER")
	exe := ps[0]["FILE_PATH"].(string)
	hasFields(t, "FILE_HASH_REP", run(t, h, "file_hash "+exe)[0], "FILE_PATH", "HASH", "MD5", "SHA1", "SHA256")
	hasFields(t, "DIRECTORY_LIST", list(t, run(t, h, "dir_list /etc *")[0], "DIRECTORY_LIST")[0], "FILE_PATH", "FILE_SIZE", "LAST_MODIFIED")
}

func TestAnswersAreDeterministic(t *testing.T) {
	a, b := newHosts(EventsReference), newHosts(EventsReference)
	lines := []string{"os_packages", "os_processes", "os_services", "os_autoruns", "os_version", "os_users",
		"netstat", "yara_scan r", "history_dump", "file_hash /etc/hosts", "file_get /etc/hosts", "dir_list / * -d 9"}
	for plat := range a {
		for _, line := range lines {
			if plat == Windows {
				line = strings.ReplaceAll(strings.ReplaceAll(line, "/etc/hosts", `C:\Windows\System32\drivers\etc\hosts`), "/ *", `C:\ *`)
			}
			if x, y := run(t, a[plat], line), run(t, b[plat], line); !reflect.DeepEqual(x, y) {
				t.Errorf("%s %s differs between runs:\n%v\n%v", plat, line, x, y)
			}
		}
	}
	// Another hostname is another machine.
	other := New(Config{Hostname: "desk-2", Platform: Windows})
	if reflect.DeepEqual(procs(t, a[Windows]), procs(t, other)) {
		t.Error("two hostnames answer the same os_processes")
	}
}

func TestHostIsCoherent(t *testing.T) {
	for plat, h := range newHosts(EventsReference) {
		t.Run(plat.String(), func(t *testing.T) {
			var outside, system []map[string]any
			for _, p := range procs(t, h) {
				path := p["FILE_PATH"].(string)
				switch {
				case plat == Windows && !strings.HasPrefix(path, `C:\`),
					plat != Windows && !strings.HasPrefix(path, "/"):
					t.Errorf("%s path on %s: %s", plat, h.Hostname(), path)
				}
				if strings.Contains(strings.ToLower(path), "downloads") || strings.Contains(path, "tmp") || strings.Contains(path, "Temp") {
					outside = append(outside, p)
				} else {
					system = append(system, p)
				}
				// A process's HASH is the file_hash of its image.
				if fh := run(t, h, fmt.Sprintf(`file_hash "%s"`, path))[0]; fh["HASH"] != p["HASH"] {
					t.Errorf("%s: process HASH %v, file_hash %v", path, p["HASH"], fh["HASH"])
				}
			}
			if len(outside) < 2 || len(system) < 4 {
				t.Fatalf("%d processes outside system directories and %d inside, want ≥2 and ≥4", len(outside), len(system))
			}

			// file_get's content hashes to file_hash and has file_info's size.
			path := outside[0]["FILE_PATH"].(string)
			got := run(t, h, fmt.Sprintf(`file_get "%s"`, path))[0]
			content, err := base64.StdEncoding.DecodeString(got["FILE_CONTENT"].(string))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(content)
			info := run(t, h, fmt.Sprintf(`file_info "%s"`, path))[0]
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
			fh := run(t, h, fmt.Sprintf(`file_hash "%s"`, sysPath))[0]
			sig := fh["SIGNATURE"].(map[string]any)
			if fh["FILE_IS_SIGNED"] != wantSigned || sig["FILE_IS_SIGNED"] != wantSigned || (sig["CERT_ISSUER"] != nil) != (wantSigned == 1) {
				t.Errorf("%s: FILE_IS_SIGNED %v, SIGNATURE %v; want signed=%v", sysPath, fh["FILE_IS_SIGNED"], sig, wantSigned)
			}

			// yara_scan hits exactly the processes outside system directories.
			hits := run(t, h, "yara_scan hive://yara/evil")
			if len(hits) != len(outside)+1 || hits[len(hits)-1]["ERROR_MESSAGE"] != "done" || hits[0]["RULE_NAME"] != "evil" {
				t.Errorf("yara_scan = %v, want %d hits of rule evil then done", hits, len(outside))
			}
			byPID := run(t, h, fmt.Sprintf("yara_scan -p %v r", outside[0]["PROCESS_ID"]))
			clean := run(t, h, fmt.Sprintf("yara_scan --pid %v r", system[0]["PROCESS_ID"]))
			byFile := run(t, h, fmt.Sprintf(`yara_scan -f "%s" r`, strings.ToUpper(path)))
			if len(byPID) != 2 || len(clean) != 1 || (len(byFile) != 2) != (plat == Linux) {
				t.Errorf("targeted scans: by pid %d, clean %d, by file %d events", len(byPID), len(clean), len(byFile))
			}

			// dir_list finds the process image in its directory.
			dir := path[:strings.LastIndexAny(path, `\/`)]
			name := path[len(dir)+1:]
			found := false
			for _, e := range list(t, run(t, h, fmt.Sprintf(`dir_list "%s" *`, dir))[0], "DIRECTORY_LIST") {
				found = found || (e["FILE_PATH"] == path && e["FILE_NAME"] == name)
			}
			if !found {
				t.Errorf("dir_list %s lacks %s", dir, path)
			}
			if n := len(list(t, run(t, h, fmt.Sprintf(`dir_list "%s" nomatch*`, dir))[0], "DIRECTORY_LIST")); n != 0 {
				t.Errorf("dir_list with a glob that matches nothing listed %d", n)
			}

			// Killing a process removes it from later answers.
			pid := outside[0]["PROCESS_ID"]
			if r := run(t, h, fmt.Sprintf("os_kill_process -p %v", pid))[0]; r["ERROR"] != float64(0) {
				t.Fatalf("kill = %v", r)
			}
			if r := run(t, h, fmt.Sprintf("os_kill_process -p %v", pid))[0]; r["ERROR"] == float64(0) {
				t.Errorf("killing twice succeeded: %v", r)
			}
			if one := run(t, h, fmt.Sprintf("os_processes -p %v", pid)); !isReceiptError(one) {
				t.Errorf("os_processes -p of a killed process = %v, want a RECEIPT error", one)
			}
		})
	}
}

func TestDirListDepth(t *testing.T) {
	h := newHosts(EventsReference)[Windows]
	home := `C:\Users\` + h.img.user
	tests := []struct {
		line string
		want int
	}{
		{fmt.Sprintf(`dir_list "%s" *.docx`, home+`\Documents`), 1},
		{fmt.Sprintf(`dir_list %s *.DOCX`, home+`\documents\`), 1}, // case-insensitive, trailing separator
		{fmt.Sprintf(`dir_list "%s" *`, home), 0},
		{fmt.Sprintf(`dir_list -d 2 "%s" *.docx`, home), 1},
		{fmt.Sprintf(`dir_list --depth 9 "%s" *.exe`, home), 2},
		{fmt.Sprintf(`dir_list "%s" "*.exe" --depth 9`, home), 2}, // flags after the positional arguments
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := len(list(t, run(t, h, tt.line)[0], "DIRECTORY_LIST")); got != tt.want {
				t.Fatalf("%d entries, want %d", got, tt.want)
			}
		})
	}
	// A file downloaded by a browser carries its Zone.Identifier stream.
	for _, e := range list(t, run(t, h, fmt.Sprintf(`dir_list "%s" *`, home+`\Downloads`))[0], "DIRECTORY_LIST") {
		streams := e["STREAMS"].([]any)
		if len(streams) != 2 || streams[1].(map[string]any)["FILE_NAME"] != ":Zone.Identifier:$DATA" {
			t.Errorf("%s STREAMS = %v", e["FILE_PATH"], streams)
		}
	}
}

func TestBadArguments(t *testing.T) {
	h := newHosts(EventsReference)[Linux]
	lines := []string{
		"no_such_command", "os_packages extra", "os_version -x", "os_processes -p", "os_processes -p abc",
		"os_processes --bogus 1", "os_processes stray", "os_kill_process", "os_kill_process -p -3", "os_kill_process 12",
		"os_kill_process --pid 1 --pid 2",
		"file_get", "file_get a b", "file_get relative/path", "file_info", "file_hash C:\\on\\linux",
		"file_get --file_path", "file_get -f /etc/hosts /etc/passwd", "file_get --file_path /etc/hosts -f /etc/passwd",
		"file_get --path /etc/hosts", "file_hash --file /etc/hosts",
		"dir_list /", "dir_list -d 0 / *", "dir_list -d x / *", "dir_list / [", "dir_list rel *",
		"yara_scan", "yara_scan -p 1 -f /x r", "yara_scan -p 999999 r", "yara_scan -p", "yara_scan r1 r2",
		"yara_scan --rule r1 r2", "yara_scan --pid 1 -e x r", "yara_scan --filePath /x r",
		"put", "run", "netstat -a", "history_dump now", "history_dump -x 1", "history_dump -e",
		"os_services x", "os_autoruns x", "os_users x",
	}
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			if events := run(t, h, line); !isReceiptError(events) {
				t.Fatalf("answer = %v, want one failing RECEIPT", events)
			}
		})
	}
	if code := run(t, h, "file_get a b")[0]["ERROR"]; code != float64(ErrInvalidParameter) {
		t.Errorf("bad arguments answer ERROR %v, want ERROR_INVALID_PARAMETER", code)
	}
	if code := run(t, h, "nope")[0]["ERROR"]; code != float64(ErrInvalidFunction) {
		t.Errorf("an unknown command answers ERROR %v, want ERROR_INVALID_FUNCTION", code)
	}
}

func TestCommands(t *testing.T) {
	if got := len(Commands()); got != 16 {
		t.Errorf("Commands = %v", Commands())
	}
	// An unknown platform answers like Linux.
	h := New(Config{Hostname: "x", Platform: Platform(0x70000000)})
	if p := procs(t, h)[0]["FILE_PATH"].(string); !strings.HasPrefix(p, "/") {
		t.Errorf("unknown platform path %s", p)
	}
	if Platform(0x70000000).String() != "Platform(0x70000000)" || MacOS.String() != "macos" || CommandsReference.String() != "commands-reference" {
		t.Error("String methods")
	}
}
