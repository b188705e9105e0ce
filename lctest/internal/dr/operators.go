package dr

import (
	"encoding/json"
	"regexp"
	"strings"
)

// The compiled operators: each reports whether an event matches.

type logicOp struct {
	any   bool // or; otherwise and
	rules []matcher
}

func (l *logicOp) match(event any) bool {
	for _, r := range l.rules {
		if r.match(event) == l.any {
			return l.any
		}
	}
	return !l.any
}

type notOp struct{ m matcher }

func (n notOp) match(event any) bool { return !n.m.match(event) }

type existsOp struct{ path string }

func (e *existsOp) match(event any) bool {
	for _, v := range resolvePath(event, e.path) {
		if v != nil {
			return true
		}
	}
	return false
}

type matchesOp struct {
	path string
	re   *regexp.Regexp
}

func (m *matchesOp) match(event any) bool {
	for _, v := range resolvePath(event, m.path) {
		if s, ok := scalarString(v); ok && m.re.MatchString(s) {
			return true
		}
	}
	return false
}

// compareOp is is, starts with, ends with and contains: true when any
// value at path compares.
type compareOp struct {
	op    string
	path  string
	want  string // lower-cased when fold
	fold  bool
	num   float64 // the value as a number, when it was one
	isNum bool
}

func (c *compareOp) match(event any) bool {
	for _, v := range resolvePath(event, c.path) {
		if c.compare(v) {
			return true
		}
	}
	return false
}

func (c *compareOp) compare(v any) bool {
	if c.op == "is" && c.isNum {
		// 4 is 4.0: compare numbers as numbers.
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			return err == nil && f == c.num
		}
	}
	got, ok := scalarString(v)
	if !ok {
		return false
	}
	if c.fold {
		got = strings.ToLower(got)
	}
	switch c.op {
	case "is":
		return got == c.want
	case "starts with":
		return strings.HasPrefix(got, c.want)
	case "ends with":
		return strings.HasSuffix(got, c.want)
	default: // contains
		return strings.Contains(got, c.want)
	}
}
