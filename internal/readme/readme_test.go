package readme

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/internal/testproc"
)

// The tutorial's module is built and tested by the go command, which
// ends with the test binary however it ends.
func TestMain(m *testing.M) { testproc.Main(m) }

// tutorialFile matches a code block the README marks as a file to create:
//
//	<!-- file: name.go -->
//	```go
//	…
//	```
var tutorialFile = regexp.MustCompile("(?s)<!-- file: ([\\w./-]+) -->\n```go\n(.*?)\n```")

func TestTutorialBuildsAndPassesInAFreshModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := tutorialFile.FindAllSubmatch(readme, -1)
	if len(files) != 2 {
		t.Fatalf("found %d tutorial files in README.md, want 2 (the service and its test)", len(files))
	}

	dir := t.TempDir()
	pkg := filepath.Join(dir, "osversion")
	if err := os.Mkdir(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name, src := string(f[1]), f[2]
		if err := os.WriteFile(filepath.Join(pkg, name), append(src, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module example.com/you\n\ngo 1.26\n\n" +
		"require github.com/lcsvc/lcservice v0.0.0\n\n" +
		"replace github.com/lcsvc/lcservice => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	// The repository's checksums cover every module the tutorial needs.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	// The go command builds with this test binary's flags (-race when it
	// has it), so it reuses what go test compiled.
	flags := testproc.BuildFlags()
	run := func(args ...string) string {
		t.Helper()
		cmd := testproc.Command(t.Context(), t, goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s in the tutorial module: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	run(append(append([]string{"vet"}, flags...), "./...")...)
	for _, f := range files {
		if formatted, err := format.Source(f[2]); err != nil || !bytes.Equal(bytes.TrimSpace(formatted), bytes.TrimSpace(f[2])) {
			t.Errorf("the tutorial's %s is not gofmt-clean (%v)", f[1], err)
		}
	}
	out := run(append(append([]string{"test", "-count=1", "-v"}, flags...), "./...")...)
	if !strings.Contains(out, "--- PASS: TestOSVersion") {
		t.Errorf("the tutorial's test did not pass:\n%s", out)
	}
	t.Logf("tutorial test output:\n%s", out)
}
