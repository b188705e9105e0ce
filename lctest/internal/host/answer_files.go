package host

import (
	"encoding/base64"
	"strconv"
)

// Built-in answers about files. Every absolute path names a file whose
// content is a function of the hostname and the path; dir_list finds the
// files the host is known to hold (process images, autoruns, documents).

// filePath reads the path of the file_* commands, which the sensor takes
// as the only positional argument, as --file_path or as -f.
func (h *Host) filePath(cmd Command) (string, []Event) {
	const usage = "usage: %[1]s <path>, %[1]s --file_path <path> or %[1]s -f <path>"
	values, pos, err := filePathFlag.parse(cmd.Args)
	if err != nil {
		return "", badArgs(cmd, "%v; "+usage, err, cmd.Name)
	}
	p, flagged := values["file_path"]
	switch {
	case flagged && len(pos) > 0:
		return "", badArgs(cmd, "give the path once, not as a flag and as %q; "+usage, pos[0], cmd.Name)
	case !flagged && len(pos) != 1:
		return "", badArgs(cmd, "takes exactly one file path; "+usage, cmd.Name)
	case !flagged:
		p = pos[0]
	}
	if !h.img.isAbs(p) {
		return "", badArgs(cmd, "%q is not an absolute path", p)
	}
	return p, nil
}

func (h *Host) fileInfo(cmd Command) []Event {
	p, bad := h.filePath(cmd)
	if bad != nil {
		return bad
	}
	created, modified, accessed := h.img.fileTimes(p)
	return []Event{{Type: "FILE_INFO_REP", Payload: map[string]any{
		"FILE_PATH":         p,
		"FILE_SIZE":         len(h.img.fileContent(p)),
		"CREATION_TIME":     created,
		"MODIFICATION_TIME": modified,
		"ACCESS_TIME":       accessed,
		"ATTRIBUTES":        h.img.attributes(p),
		"FILE_IS_SIGNED":    h.img.isSigned(p),
	}}}
}

func (h *Host) fileHashAnswer(cmd Command) []Event {
	p, bad := h.filePath(cmd)
	if bad != nil {
		return bad
	}
	payload := map[string]any{"FILE_PATH": p, "HASH": h.img.fileHash(p)}
	if h.dialect == CommandsReference {
		payload["MD5"], payload["SHA1"], payload["SHA256"] = h.img.digests(p)
	} else {
		payload["FILE_IS_SIGNED"] = h.img.isSigned(p)
		payload["SIGNATURE"] = h.img.signature(p)
	}
	return []Event{{Type: "FILE_HASH_REP", Payload: payload}}
}

func (h *Host) fileGet(cmd Command) []Event {
	p, bad := h.filePath(cmd)
	if bad != nil {
		return bad
	}
	content := h.img.fileContent(p)
	return []Event{{Type: "FILE_GET_REP", Payload: map[string]any{
		"FILE_PATH":    p,
		"FILE_SIZE":    len(content),
		"FILE_CONTENT": base64.StdEncoding.EncodeToString(content),
	}}}
}

func (h *Host) dirList(cmd Command) []Event {
	const usage = "usage: dir_list [-d DEPTH] <root> <file expression>"
	values, pos, err := flags{"-d": "depth", "--depth": "depth"}.parse(cmd.Args)
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	if len(pos) != 2 {
		return badArgs(cmd, "needs a root directory and a file expression; %s", usage)
	}
	depth := 1
	if v, ok := values["depth"]; ok {
		depth, err = strconv.Atoi(v)
		if err != nil || depth < 1 {
			return badArgs(cmd, "depth %q is not a positive number", v)
		}
	}
	root, glob := pos[0], pos[1]
	if !h.img.isAbs(root) {
		return badArgs(cmd, "%q is not an absolute path", root)
	}
	paths, err := h.img.listDir(root, glob, depth)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	list := make([]map[string]any, 0, len(paths))
	for _, p := range paths {
		list = append(list, h.dirEntry(p))
	}
	return []Event{{Type: "DIR_LIST_REP", Payload: map[string]any{"DIRECTORY_LIST": list}}}
}

// dirEntry is one DIRECTORY_LIST entry.
func (h *Host) dirEntry(p string) map[string]any {
	size := len(h.img.fileContent(p))
	created, modified, accessed := h.img.fileTimes(p)
	if h.dialect == CommandsReference {
		return map[string]any{"FILE_PATH": p, "FILE_SIZE": size, "LAST_MODIFIED": modified / 1000}
	}
	e := map[string]any{
		"FILE_NAME":         baseName(p),
		"FILE_PATH":         p,
		"FILE_SIZE":         size,
		"CREATION_TIME":     created,
		"MODIFICATION_TIME": modified,
		"ACCESS_TIME":       accessed,
		"ATTRIBUTES":        h.img.attributes(p),
	}
	if s := h.img.streams(p); s != nil {
		e["STREAMS"] = s
	}
	return e
}
