package dr

import (
	"strconv"
	"strings"
)

// resolvePath returns every value at path in doc. Path segments are
// separated by slashes and start at the event root ("routing/event_type",
// "event/FILE_PATH"). A "?" segment stands for any element of a list (or
// any value of an object); a numeric segment indexes a list. A path that
// leads nowhere yields nothing.
func resolvePath(doc any, path string) []any {
	values := []any{doc}
	for seg := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		var next []any
		for _, v := range values {
			next = appendChildren(next, v, seg)
		}
		if len(next) == 0 {
			return nil
		}
		values = next
	}
	return values
}

func appendChildren(out []any, v any, seg string) []any {
	switch node := v.(type) {
	case map[string]any:
		if seg == "?" {
			for _, child := range node {
				out = append(out, child)
			}
			return out
		}
		if child, ok := node[seg]; ok {
			out = append(out, child)
		}
	case []any:
		if seg == "?" {
			return append(out, node...)
		}
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(node) {
			out = append(out, node[i])
		}
	}
	return out
}
