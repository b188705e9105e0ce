package host

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Command is one task command line as a sensor receives it.
type Command struct {
	Name string   // the first word, e.g. "os_processes"
	Args []string // the remaining words, quotes removed
	Line string   // the command line as sent
}

// ParseCommand splits a command line like a shell does, as sensors do:
// words are separated by white space, single or double quotes
// group a word (and may make an empty one), and a backslash escapes only a
// quote character — any other backslash is kept, so Windows paths need no
// doubling. An empty line or an unterminated quote is an error.
func ParseCommand(line string) (Command, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool // cur holds a word, possibly empty ("")
		quote  rune // the open quote, or 0
	)
	runes := []rune(line)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case r == '\\' && i+1 < len(runes) && (runes[i+1] == '"' || runes[i+1] == '\''):
			// An escaped quote is literal, inside quotes or out.
			i++
			cur.WriteRune(runes[i])
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			inWord = true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return Command{Line: line}, fmt.Errorf("command line %q: unterminated %c quote: close it or escape it with a backslash", line, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 || words[0] == "" {
		return Command{Line: line}, errors.New("command line is empty: give a command name, e.g. \"os_packages\"")
	}
	return Command{Name: words[0], Args: words[1:], Line: line}, nil
}
