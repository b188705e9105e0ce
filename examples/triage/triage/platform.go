package triage

import (
	"github.com/lcsvc/lcservice/interactive"
	"path"
	"strings"
)

// IsSystemPath reports whether file lies in one of the platform's system
// directories, where the operating system and its vendor's software live:
//
//   - Windows: C:\Windows\, C:\Program Files\, C:\Program Files (x86)\
//     (case-insensitive; \SystemRoot\ counts as C:\Windows\)
//   - Linux: /usr/, /bin/, /sbin/, /lib/, /lib64/
//   - macOS: /System/, /usr/, /bin/, /sbin/, /Library/Apple/
//     (case-insensitive, as APFS is by default)
//
// /usr/local/ is not a system directory on either POSIX platform: software
// there did not come with the system. Paths are cleaned first, so
// C:\Windows\..\Users\x.exe is not in C:\Windows\. For an unknown platform
// a path with a drive letter is judged as Windows, any other as system if
// it is so on Linux or on macOS. A relative path is never a system path.
func IsSystemPath(p interactive.Platform, file string) bool {
	switch p {
	case interactive.Windows:
		return windowsSystem(file)
	case interactive.Linux:
		return posixSystem(file, false, "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/")
	case interactive.MacOS:
		return macSystem(file)
	}
	if looksWindows(file) {
		return windowsSystem(file)
	}
	return IsSystemPath(interactive.Linux, file) || IsSystemPath(interactive.MacOS, file)
}

func macSystem(file string) bool {
	return posixSystem(file, true, "/system/", "/usr/", "/bin/", "/sbin/", "/library/apple/")
}

// posixSystem reports whether the cleaned absolute file lies under one of
// dirs (given lowercase when fold is set), outside /usr/local/.
func posixSystem(file string, fold bool, dirs ...string) bool {
	if !strings.HasPrefix(file, "/") {
		return false
	}
	p := path.Clean(file)
	if fold {
		p = strings.ToLower(p)
	}
	if strings.HasPrefix(p+"/", "/usr/local/") {
		return false
	}
	return hasAnyPrefix(p, dirs)
}

func windowsSystem(file string) bool {
	p, ok := cleanWindows(file)
	return ok && hasAnyPrefix(p, []string{"c:/windows/", "c:/program files/", "c:/program files (x86)/"})
}

// cleanWindows returns file lowercased, with forward slashes and without
// . and .. elements; ok is false when file is not an absolute path.
func cleanWindows(file string) (string, bool) {
	p := strings.ReplaceAll(file, `\`, "/")
	for _, prefix := range []string{"//?/", "/??/"} {
		p = strings.TrimPrefix(p, prefix)
	}
	p = strings.ToLower(p)
	if rest, ok := strings.CutPrefix(p, "/systemroot/"); ok {
		p = "c:/windows/" + rest
	}
	if !looksWindows(p) {
		return "", false
	}
	return path.Clean(p), true
}

// looksWindows reports whether file starts with a drive letter and a
// separator, as an absolute Windows path does.
func looksWindows(file string) bool {
	if len(file) < 3 || file[1] != ':' || (file[2] != '\\' && file[2] != '/') {
		return false
	}
	c := file[0] | 0x20 // lowercase an ASCII letter
	return c >= 'a' && c <= 'z'
}

// isAbsolute reports whether file is an absolute path on p, the only kind
// file_hash can use.
func isAbsolute(p interactive.Platform, file string) bool {
	switch {
	case looksWindows(file), strings.HasPrefix(file, `\\`):
		return p != interactive.Linux && p != interactive.MacOS
	case strings.HasPrefix(file, "/"):
		return p != interactive.Windows
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
