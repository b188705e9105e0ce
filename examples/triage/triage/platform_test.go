package triage

import "testing"

func TestIsSystemPath(t *testing.T) {
	for _, tc := range []struct {
		plat Platform
		path string
		want bool
	}{
		{Windows, `C:\Windows\System32\svchost.exe`, true},
		{Windows, `c:\windows\explorer.exe`, true},
		{Windows, `C:\WINDOWS\SYSTEM32\LSASS.EXE`, true},
		{Windows, `C:\Program Files\Google\Chrome\Application\chrome.exe`, true},
		{Windows, `C:\Program Files (x86)\Tool\tool.exe`, true},
		{Windows, `C:/Windows/System32/cmd.exe`, true},
		{Windows, `\\?\C:\Windows\System32\conhost.exe`, true},
		{Windows, `\SystemRoot\System32\smss.exe`, true},
		{Windows, `C:\Users\alice\Downloads\invoice_0042.exe`, false},
		{Windows, `C:\Users\alice\AppData\Local\Temp\x\updater.exe`, false},
		{Windows, `C:\Windows\..\Users\alice\evil.exe`, false},
		{Windows, `C:\Windows\System32\..\..\Temp\evil.exe`, false},
		{Windows, `C:\WindowsApps\app.exe`, false},
		{Windows, `C:\Program Files Evil\x.exe`, false},
		{Windows, `C:\ProgramData\x.exe`, false},
		{Windows, `D:\Windows\x.exe`, false},
		{Windows, `smss.exe`, false},
		{Windows, `/usr/bin/bash`, false},

		{Linux, "/usr/bin/bash", true},
		{Linux, "/usr/lib/systemd/systemd", true},
		{Linux, "/usr/sbin/nginx", true},
		{Linux, "/bin/sh", true},
		{Linux, "/sbin/init", true},
		{Linux, "/lib/ld-linux.so.2", true},
		{Linux, "/lib64/ld-linux-x86-64.so.2", true},
		{Linux, "/opt/vendor/bin/agent", false},
		{Linux, "/usr/local/bin/miner", false},
		{Linux, "/home/alice/Downloads/backup-tool", false},
		{Linux, "/tmp/.cache-x/kworkerd", false},
		{Linux, "/usr/../tmp/x", false},
		{Linux, "/usr/bin/../../tmp/x", false},
		{Linux, "/USR/bin/x", false},
		{Linux, "/usrx/bin/x", false},
		{Linux, "usr/bin/x", false},
		{Linux, `C:\Windows\x.exe`, false},

		{MacOS, "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock", true},
		{MacOS, "/system/library/CoreServices/Finder", true},
		{MacOS, "/usr/libexec/logd", true},
		{MacOS, "/sbin/launchd", true},
		{MacOS, "/bin/zsh", true},
		{MacOS, "/Library/Apple/System/Library/x", true},
		{MacOS, "/Applications/Safari.app/Contents/MacOS/Safari", false},
		{MacOS, "/Library/LaunchDaemons/x", false},
		{MacOS, "/usr/local/bin/brew", false},
		{MacOS, "/Usr/Local/bin/brew", false},
		{MacOS, "/Users/alice/Downloads/VideoCodec", false},
		{MacOS, "/private/tmp/.x/agent", false},

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
	got, skipped := selectTargets(Windows, procs)
	want := []target{{900, `C:\Users\bob\Downloads\a.exe`}, {901, `\\fileserver\share\b.exe`}}
	if skipped != 2 || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("selectTargets = %v, %d skipped; want %v, 2 skipped", got, skipped, want)
	}
	if got, skipped := selectTargets(Linux, []process{{1, "/usr/lib/systemd/systemd"}, {2, `C:\x.exe`}, {3, "/tmp/x"}}); skipped != 1 || len(got) != 1 || got[0].PID != 3 {
		t.Errorf("linux: %v, %d skipped", got, skipped)
	}
}

func TestPlatformString(t *testing.T) {
	for p, want := range map[Platform]string{Windows: "windows", Linux: "linux", MacOS: "macos", 7: "Platform(0x7)"} {
		if p.String() != want {
			t.Errorf("%d: %q", uint32(p), p.String())
		}
	}
}
