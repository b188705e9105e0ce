package lctest

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Built-in answers about files. Every absolute path names a file whose
// content is a function of the hostname and the path; dir_list finds the
// files the host is known to hold (process images, autoruns, documents).

// onePath reads the single path argument of the file_* commands.
func onePath(s *Sensor, cmd Command) (string, []Event) {
	if len(cmd.Args) != 1 {
		return "", badArgs(cmd, "takes exactly one argument, the file path; usage: %s <path>", cmd.Name)
	}
	p := cmd.Args[0]
	if !s.host.isAbs(p) {
		return "", badArgs(cmd, "%q is not an absolute path", p)
	}
	return p, nil
}

func signedFlag(s *Sensor, p string) int {
	if s.host.fileSigned(p) {
		return 1
	}
	return 0
}

func answerFileInfo(s *Sensor, cmd Command) []Event {
	p, bad := onePath(s, cmd)
	if bad != nil {
		return bad
	}
	return []Event{{Type: "FILE_INFO_REP", Payload: map[string]any{
		"FILE_PATH":         p,
		"FILE_SIZE":         len(s.host.fileContent(p)),
		"MODIFICATION_TIME": s.host.fileModified(p),
		"FILE_IS_SIGNED":    signedFlag(s, p),
	}}}
}

func answerFileHash(s *Sensor, cmd Command) []Event {
	p, bad := onePath(s, cmd)
	if bad != nil {
		return bad
	}
	return []Event{{Type: "FILE_HASH_REP", Payload: map[string]any{
		"FILE_PATH":      p,
		"HASH":           s.host.fileHash(p),
		"FILE_IS_SIGNED": signedFlag(s, p),
	}}}
}

func answerFileGet(s *Sensor, cmd Command) []Event {
	p, bad := onePath(s, cmd)
	if bad != nil {
		return bad
	}
	content := s.host.fileContent(p)
	return []Event{{Type: "FILE_GET_REP", Payload: map[string]any{
		"FILE_PATH":    p,
		"FILE_SIZE":    len(content),
		"FILE_CONTENT": base64.StdEncoding.EncodeToString(content),
	}}}
}

func answerDirList(s *Sensor, cmd Command) []Event {
	const usage = "usage: dir_list [-d DEPTH] <root> <file expression>"
	flags, pos, err := parseArgs(cmd.Args, flagSpec{"-d": "depth", "--depth": "depth"})
	if err != nil {
		return badArgs(cmd, "%v; %s", err, usage)
	}
	if len(pos) != 2 {
		return badArgs(cmd, "needs a root directory and a file expression; %s", usage)
	}
	depth := 1
	if v, ok := flags["depth"]; ok {
		depth, err = strconv.Atoi(v)
		if err != nil || depth < 1 {
			return badArgs(cmd, "depth %q is not a positive number", v)
		}
	}
	root, glob := pos[0], pos[1]
	if !s.host.isAbs(root) {
		return badArgs(cmd, "%q is not an absolute path", root)
	}
	paths, err := s.host.listDir(root, glob, depth)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	list := make([]map[string]any, 0, len(paths))
	for _, p := range paths {
		list = append(list, map[string]any{
			"FILE_NAME":         s.host.baseName(p),
			"FILE_PATH":         p,
			"FILE_SIZE":         len(s.host.fileContent(p)),
			"MODIFICATION_TIME": s.host.fileModified(p),
		})
	}
	return []Event{{Type: "DIR_LIST_REP", Payload: map[string]any{"ROOT": root, "DIRECTORY_LIST": list}}}
}

// samePath reports whether two paths name the same file on the host.
func (h *hostImage) samePath(a, b string) bool {
	return h.fileKey(strings.ReplaceAll(a, `\`, "/")) == h.fileKey(strings.ReplaceAll(b, `\`, "/"))
}
