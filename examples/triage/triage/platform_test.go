package triage

import (
	"testing"

	"github.com/lcsvc/lcservice/interactive"
)

func TestIsSystemPath(t *testing.T) {
	for _, tc := range []struct {
		plat interactive.Platform
		path string
		want bool
	}{
		{interactive.Windows, `C:\Windows\System32\svchost.exe`, true},
		{interactive.Windows, `c:\windows\explorer.exe`, true},
		{interactive.Windows, `C:\WINDOWS\SYSTEM32\LSASS.EXE`, true},
		{interactive.Windows, `C:\Program Files\Google\Chrome\Application\chrome.exe`, true},
		{interactive.Windows, `C:\Program Files (x86)\Tool\tool.exe`, true},
		{interactive.Windows, `C:/Windows/System32/cmd.exe`, true},
		{interactive.Windows, `\\?\C:\Windows\System32\conhost.exe`, true},
		{interactive.Windows, `\SystemRoot\System32\smss.exe`, true},
		{interactive.Windows, `C:\Users\alice\Downloads\invoice_0042.exe`, false},
		{interactive.Windows, `C:\Users\alice\AppData\Local\Temp\x\updater.exe`, false},
		{interactive.Windows, `C:\Windows\..\Users\alice\evil.exe`, false},
		{interactive.Windows, `C:\Windows\System32\..\..\Temp\evil.exe`, false},
		{interactive.Windows, `C:\WindowsApps\app.exe`, false},
		{interactive.Windows, `C:\Program Files Evil\x.exe`, false},
		{interactive.Windows, `C:\ProgramData\x.exe`, false},
		{interactive.Windows, `D:\Windows\x.exe`, false},
		{interactive.Windows, `smss.exe`, false},
		{interactive.Windows, `/usr/bin/bash`, false},

		{interactive.Linux, "/usr/bin/bash", true},
		{interactive.Linux, "/usr/lib/systemd/systemd", true},
		{interactive.Linux, "/usr/sbin/nginx", true},
		{interactive.Linux, "/bin/sh", true},
		{interactive.Linux, "/sbin/init", true},
		{interactive.Linux, "/lib/ld-linux.so.2", true},
		{interactive.Linux, "/lib64/ld-linux-x86-64.so.2", true},
		{interactive.Linux, "/opt/vendor/bin/agent", false},
		{interactive.Linux, "/usr/local/bin/miner", false},
		{interactive.Linux, "/home/alice/Downloads/backup-tool", false},
		{interactive.Linux, "/tmp/.cache-x/kworkerd", false},
		{interactive.Linux, "/usr/../tmp/x", false},
		{interactive.Linux, "/usr/bin/../../tmp/x", false},
		{interactive.Linux, "/USR/bin/x", false},
		{interactive.Linux, "/usrx/bin/x", false},
		{interactive.Linux, "usr/bin/x", false},
		{interactive.Linux, `C:\Windows\x.exe`, false},

		{interactive.MacOS, "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", true},
		{interactive.MacOS, "/system/library/CoreServices/Finder", true},
		{interactive.MacOS, "/usr/libexec/logd", true},
		{interactive.MacOS, "/sbin/launchd", true},
		{interactive.MacOS, "/bin/zsh", true},
		{interactive.MacOS, "/Library/Apple/System/Library/x", true},
		{interactive.MacOS, "/Applications/Safari.app/Contents/MacOS/Safari", false},
		{interactive.MacOS, "/Library/LaunchDaemons/x", false},
		{interactive.MacOS, "/usr/local/bin/brew", false},
		{interactive.MacOS, "/Usr/Local/bin/brew", false},
		{interactive.MacOS, "/Users/alice/Downloads/VideoCodec", false},
		{interactive.MacOS, "/private/tmp/.x/agent", false},

		{0, `C:\Windows\System32\svchost.exe`, true},
		{0, `C:\Users\a\x.exe`, false},
		{0, "/usr/bin/bash", true},
		{0, "/System/Library/x", true},
		{0, "/home/a/x", false},
		{0, "/usr/local/bin/x", false},
	} {
		if got := IsSystemPath(tc.plat, tc.path); got != tc.want {
			t.Errorf("IsSystemPath(%v, %q) = %v, want %v", tc.plat, tc.path, got, tc.want)
		}
	}
}

func TestSelectTargets(t *testing.T) {
	procs := []process{
		{4, ""},
		{88, "Registry"},
		{500, `C:\Windows\System32\lsass.exe`},
		{900, `C:\Users\bob\Downloads\a.exe`},
		{901, `\\fileserver\share\b.exe`},
	}
	got, skipped := selectTargets(interactive.Windows, procs)
	want := []target{{900, `C:\Users\bob\Downloads\a.exe`}, {901, `\\fileserver\share\b.exe`}}
	if skipped != 2 || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("selectTargets = %v, %d skipped; want %v, 2 skipped", got, skipped, want)
	}
	if got, skipped := selectTargets(interactive.Linux, []process{{1, "/usr/lib/systemd/systemd"}, {2, `C:\x.exe`}, {3, "/tmp/x"}}); skipped != 1 || len(got) != 1 || got[0].PID != 3 {
		t.Errorf("linux: %v, %d skipped", got, skipped)
	}
}
