package host

import (
	"crypto/md5"
	"crypto/sha1"
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
func (m *image) fileKey(p string) string {
	if caseInsensitive(m.platform) {
		return strings.ToLower(p)
	}
	return p
}

// isAbs reports whether p is an absolute path on the host.
func (m *image) isAbs(p string) bool {
	if m.platform == Windows {
		return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}

// fileContent returns the bytes of the file at p: text for the usual text
// files, otherwise binary, 256 to 4 KiB long.
func (m *image) fileContent(p string) []byte {
	r := seeded("file", m.hostname, m.fileKey(p))
	size := 256 + r.IntN(3841)
	if m.isText(p) {
		var b strings.Builder
		for i := 1; b.Len() < size; i++ {
			fmt.Fprintf(&b, "# %s on %s, line %d\n", m.fileKey(p), m.hostname, i)
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
func (m *image) isText(p string) bool {
	slashed := strings.ReplaceAll(p, `\`, "/")
	switch strings.ToLower(path.Ext(slashed)) {
	case ".txt", ".conf", ".cfg", ".log", ".ini", ".md", ".csv", ".plist":
		return true
	}
	return strings.HasPrefix(path.Base(slashed), ".") ||
		strings.HasPrefix(slashed, "/etc/") || strings.HasPrefix(slashed, "/var/spool/cron/")
}

// fileHash returns the sha256 hex of the file at p.
func (m *image) fileHash(p string) string {
	sum := sha256.Sum256(m.fileContent(p))
	return hex.EncodeToString(sum[:])
}

// digests returns the md5, sha1 and sha256 hex of the file at p.
func (m *image) digests(p string) (md5sum, sha1sum, sha256sum string) {
	b := m.fileContent(p)
	h5, h1 := md5.Sum(b), sha1.Sum(b)
	return hex.EncodeToString(h5[:]), hex.EncodeToString(h1[:]), m.fileHash(p)
}

// fileTimes returns the file's creation, modification and last access
// times, epoch milliseconds: all within 2024, so runs agree whatever today
// is, and in that order.
func (m *image) fileTimes(p string) (created, modified, accessed int64) {
	r := seeded("mtime", m.hostname, m.fileKey(p))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mod := base.Add(time.Duration(r.Int64N(int64(180 * 24 * time.Hour))))
	r = seeded("ctime", m.hostname, m.fileKey(p))
	created = mod.Add(-time.Duration(r.Int64N(int64(90 * 24 * time.Hour)))).UnixMilli()
	accessed = mod.Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour)))).UnixMilli()
	return created, mod.UnixMilli(), accessed
}

// listDir returns the known files below root at most depth levels down
// (1: root's own entries) whose names match glob.
func (m *image) listDir(root, glob string, depth int) ([]string, error) {
	sep := separator(m.platform)
	base := m.fileKey(strings.TrimRight(root, `\/`)) + sep
	fold := caseInsensitive(m.platform)
	if fold {
		glob = strings.ToLower(glob)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("bad file expression %q: %w", glob, err)
	}
	var out []string
	for _, f := range m.files {
		k := m.fileKey(f)
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
