package testproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRecipe(t *testing.T) {
	r, err := ParseRecipe(`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/service ./examples/basic`, "/src")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Env, "|") != "CGO_ENABLED=0" || strings.Join(r.Flags, "|") != "-trimpath|-ldflags=-s -w" ||
		r.Package != filepath.FromSlash("/src/examples/basic") {
		t.Errorf("%+v", r)
	}
	for _, bad := range []string{`go vet ./x`, `go build -o x github.com/a/b`, `go build "./x`} {
		if _, err := ParseRecipe(bad, "/src"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDockerfileRecipeSubstitutesArgs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Dockerfile")
	df := "ARG GO_VERSION=1.26\nFROM golang:${GO_VERSION}\nARG EXAMPLE=packages\nRUN CGO_ENABLED=0 go build -o /out/service ./examples/${EXAMPLE}\n"
	if err := os.WriteFile(path, []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{"": "packages", "basic": "basic"} {
		var over map[string]string
		if args != "" {
			over = map[string]string{"EXAMPLE": args}
		}
		r, err := DockerfileRecipe(path, "/src", over)
		if err != nil || r.Package != filepath.FromSlash("/src/examples/"+want) {
			t.Errorf("EXAMPLE=%q: %+v %v", args, r, err)
		}
	}
}
