package host

import (
	"slices"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		name    string
		args    []string
		wantErr bool
	}{
		{line: "os_packages", name: "os_packages"},
		{line: "  os_processes   -p  42 ", name: "os_processes", args: []string{"-p", "42"}},
		{line: `file_hash "C:\Program Files\app.exe"`, name: "file_hash", args: []string{`C:\Program Files\app.exe`}},
		{line: `file_get C:\Windows\notepad.exe`, name: "file_get", args: []string{`C:\Windows\notepad.exe`}},
		{line: `run --shell-command 'echo "hi there"'`, name: "run", args: []string{"--shell-command", `echo "hi there"`}},
		{line: `put a\"b`, name: "put", args: []string{`a"b`}},
		{line: `put "say \"hi\""`, name: "put", args: []string{`say "hi"`}},
		{line: `put 'it\'s'`, name: "put", args: []string{`it's`}},
		{line: `put a\\"b c"`, name: "put", args: []string{`a\"b`, `c"`}, wantErr: true},
		{line: `dir_list "" *`, name: "dir_list", args: []string{"", "*"}},
		{line: `put ab"cd ef"gh`, name: "put", args: []string{"abcd efgh"}},
		{line: `put trailing\`, name: "put", args: []string{`trailing\`}},
		{line: "", wantErr: true},
		{line: "   ", wantErr: true},
		{line: `"" x`, wantErr: true},
		{line: `file_get "C:\unterminated`, wantErr: true},
		{line: `file_get 'open`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd, err := ParseCommand(tt.line)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseCommand(%q) = %+v, want an error", tt.line, cmd)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.line, err)
			}
			if cmd.Name != tt.name || !slices.Equal(cmd.Args, tt.args) || cmd.Line != tt.line {
				t.Errorf("ParseCommand(%q) = %q %q, want %q %q", tt.line, cmd.Name, cmd.Args, tt.name, tt.args)
			}
		})
	}
}
