package lctest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"
)

// File facts are functions of the hostname and the path, so that file_info,
// file_hash, file_get, dir_list and the HASH of a process all agree.

// caseInsensitive reports whether p's file system ignores case.
func caseInsensitive(p Platform) bool { return p == Windows || p == MacOS }

// separator returns p's path separator.
func separator(p Platform) string {
	if p == Windows {
		return `\`
	}
	return "/"
}

// fileKey is the path as the file system compares it.
func (h *hostImage) fileKey(p string) string {
	if caseInsensitive(h.platform) {
		return strings.ToLower(p)
	}
	return p
}

// isAbs reports whether p is an absolute path on the host.
func (h *hostImage) isAbs(p string) bool {
	if h.platform == Windows {
		return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}

// fileContent returns the bytes of the file at p: text for the usual text
// files, otherwise binary, 256 to 4 KiB long.
func (h *hostImage) fileContent(p string) []byte {
	r := seeded("file", h.hostname, h.fileKey(p))
	size := 256 + r.IntN(3841)
	if h.isText(p) {
		var b strings.Builder
		for i := 1; b.Len() < size; i++ {
			fmt.Fprintf(&b, "# %s on %s, line %d\n", h.fileKey(p), h.hostname, i)
		}
		return []byte(b.String()[:size])
	}
	out := make([]byte, size)
	for i := range out {
		out[i] = byte(r.Uint32())
	}
	return out
}

// isText reports whether the file at p holds text: the usual text
// extensions, dot files, configuration and crontabs.
func (h *hostImage) isText(p string) bool {
	slashed := strings.ReplaceAll(p, `\`, "/")
	switch strings.ToLower(path.Ext(slashed)) {
	case ".txt", ".conf", ".cfg", ".log", ".ini", ".md", ".csv", ".plist":
		return true
	}
	return strings.HasPrefix(path.Base(slashed), ".") ||
		strings.HasPrefix(slashed, "/etc/") || strings.HasPrefix(slashed, "/var/spool/cron/")
}

// fileHash returns the sha256 hex of the file at p.
func (h *hostImage) fileHash(p string) string {
	sum := sha256.Sum256(h.fileContent(p))
	return hex.EncodeToString(sum[:])
}

// fileModified returns the file's modification time, epoch milliseconds.
func (h *hostImage) fileModified(p string) int64 {
	r := seeded("mtime", h.hostname, h.fileKey(p))
	// Within the first half of 2024, so runs agree whatever today is.
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(r.Int64N(int64(180 * 24 * time.Hour)))).UnixMilli()
}

// fileSigned reports whether the file carries a valid code signature:
// files in the system and application directories of Windows and macOS
// do; Linux binaries are not code-signed.
func (h *hostImage) fileSigned(p string) bool {
	k := h.fileKey(strings.ReplaceAll(p, `\`, "/"))
	var roots []string
	switch h.platform {
	case Windows:
		roots = []string{"c:/windows/", "c:/program files/", "c:/program files (x86)/"}
	case MacOS:
		roots = []string{"/system/", "/usr/", "/bin/", "/sbin/", "/applications/", "/library/"}
	}
	for _, root := range roots {
		if strings.HasPrefix(k, root) {
			return true
		}
	}
	return false
}

// listDir returns the known files below root at most depth levels down
// (1: root's own entries) whose names match glob.
func (h *hostImage) listDir(root, glob string, depth int) ([]string, error) {
	sep := separator(h.platform)
	base := h.fileKey(strings.TrimRight(root, `\/`)) + sep
	fold := caseInsensitive(h.platform)
	if fold {
		glob = strings.ToLower(glob)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("bad file expression %q: %w", glob, err)
	}
	var out []string
	for _, f := range h.files {
		k := h.fileKey(f)
		if !strings.HasPrefix(k, base) {
			continue
		}
		rest := k[len(base):]
		if strings.Count(rest, sep) >= depth {
			continue
		}
		name := rest[strings.LastIndex(rest, sep)+1:]
		if ok, _ := path.Match(glob, name); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// baseName returns the last element of p.
func (h *hostImage) baseName(p string) string {
	return p[strings.LastIndexAny(p, `\/`)+1:]
}
