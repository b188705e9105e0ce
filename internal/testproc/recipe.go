package testproc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Recipe is how a Dockerfile builds a Go program: the go command's extra
// environment (such as CGO_ENABLED=0), its build flags, and the package,
// as a directory.
type Recipe struct {
	Env, Flags []string
	Package    string
}

// DockerfileRecipe reads the Dockerfile at path and returns the recipe of
// its go build RUN line, with the ARG defaults, overridden by args,
// substituted for their ${NAME}s, the output path (-o) left out and the
// package made a directory relative to the Dockerfile's build context,
// given as root.
func DockerfileRecipe(path, root string, args map[string]string) (Recipe, error) {
	f, err := os.Open(path)
	if err != nil {
		return Recipe{}, err
	}
	defer f.Close()
	vars := map[string]string{}
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(text, "ARG "); ok {
			if name, def, ok := strings.Cut(v, "="); ok {
				vars[name] = def
			}
		}
		if v, ok := strings.CutPrefix(text, "RUN "); ok && strings.Contains(v, "go build") {
			line = v
		}
	}
	if err := sc.Err(); err != nil {
		return Recipe{}, err
	}
	if line == "" {
		return Recipe{}, fmt.Errorf("%s: no RUN line with go build", path)
	}
	for k, v := range args {
		vars[k] = v
	}
	return ParseRecipe(os.Expand(line, func(name string) string { return vars[name] }), root)
}

// ParseRecipe splits a go build command line, as a Dockerfile's RUN line
// writes it, into a Recipe; a relative package path is taken from root.
func ParseRecipe(line, root string) (Recipe, error) {
	words, err := shellWords(line)
	if err != nil {
		return Recipe{}, fmt.Errorf("%s: %v", line, err)
	}
	var r Recipe
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		r.Env, words = append(r.Env, words[0]), words[1:]
	}
	if len(words) < 3 || words[0] != "go" || words[1] != "build" {
		return Recipe{}, fmt.Errorf("%q is not a go build command", line)
	}
	words = words[2:]
	pkg := words[len(words)-1]
	words = words[:len(words)-1]
	for i := 0; i < len(words); i++ {
		if words[i] == "-o" && i+1 < len(words) {
			i++ // the image's path: the test builds where it can
			continue
		}
		r.Flags = append(r.Flags, words[i])
	}
	if !strings.HasPrefix(pkg, "./") {
		return Recipe{}, fmt.Errorf("%q builds %q; want a directory of the build context (./...)", line, pkg)
	}
	r.Package = filepath.Join(root, filepath.FromSlash(pkg))
	return r, nil
}

// shellWords splits s into words as sh does for quoting alone: single and
// double quotes group, and are removed.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words, in = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}
