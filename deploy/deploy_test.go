package deploy

import (
	"bufio"
	"debug/elf"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/internal/testproc"
)

// buildLine finds the Dockerfile's go build command and the EXAMPLE default.
func buildLine(t *testing.T) (cmd, example string) {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "ARG EXAMPLE="); ok {
			example = v
		}
		if v, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(v, "go build") {
			cmd = v
		}
	}
	if cmd == "" || example == "" {
		t.Fatalf("Dockerfile: build command %q, EXAMPLE %q: want both", cmd, example)
	}
	return cmd, example
}

func TestMain(m *testing.M) { testproc.Main(m) }

func TestDockerfileBuildsAStaticBinaryThatServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	cmd, _ := buildLine(t)
	if !strings.HasPrefix(cmd, "CGO_ENABLED=0 go build ") {
		t.Fatalf("the image's binary must be built without cgo: %q", cmd)
	}
	// The recipe's own command, with the output in the test's directory;
	// the examples' memory tests build with it too.
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	r, err := testproc.DockerfileRecipe("Dockerfile", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := testproc.Build(r.Package, r.Env, r.Flags)
	if err != nil {
		t.Fatal(err)
	}

	bin, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it will not run on a static base image")
		}
	}
	if libs, _ := bin.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("the binary links %v", libs)
	}
	if bin.Section(".symtab") != nil {
		t.Error("the binary is not stripped (-ldflags '-s -w')")
	}

	// It serves /healthz on $PORT, which the probes use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	run := testproc.Command(t.Context(), t, out)
	run.Env = append(os.Environ(), "PORT="+itoa(port), "LC_SHARED_SECRET=deploy-test")
	logs, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stderr = run.Stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run.Process.Kill(); _ = run.Wait() }()
	// It logs "serving" once its listener is open; bounded by the test
	// binary's -timeout.
	var printed strings.Builder
	sc := bufio.NewScanner(logs)
	for !strings.Contains(printed.String(), `"message":"serving"`) {
		if !sc.Scan() {
			t.Fatalf("the binary ended before serving: %v\n%s", sc.Err(), printed.String())
		}
		printed.WriteString(sc.Text() + "\n")
	}
	go func() { _, _ = io.Copy(io.Discard, logs) }()
	resp, err := http.Get("http://127.0.0.1:" + itoa(port) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
	// And Prometheus metrics on the same port, which the manifest's
	// scrape annotations name.
	resp, err = http.Get("http://127.0.0.1:" + itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "lcservice_signature_refused_total") {
		t.Fatalf("GET /metrics: %s %.300s", resp.Status, body)
	}
}

func TestDockerfileRunsAsNonRoot(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM gcr.io/distroless/static", "USER nonroot", "ENV PORT=8080", `ENTRYPOINT ["/service"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestManifestsProbeHealthzAndReadTheSecretFromTheStore(t *testing.T) {
	for _, name := range []string{"cloudrun.yaml", "kubernetes.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "\t") {
			t.Errorf("%s: YAML may not be indented with tabs", name)
		}
		for _, re := range []string{
			`path: /healthz`,
			`containerPort: 8080`,
			`name: LC_SHARED_SECRET\s+valueFrom:\s+secretKeyRef:`,
		} {
			if !regexp.MustCompile(re).MatchString(s) {
				t.Errorf("%s does not match %q", name, re)
			}
		}
	}
	k8s, _ := os.ReadFile("kubernetes.yaml")
	for _, want := range []string{"prometheus.io/scrape: \"true\"", "prometheus.io/path: /metrics", "runAsNonRoot: true", "readinessProbe:\n            httpGet: {path: /readyz", "livenessProbe:", "terminationGracePeriodSeconds: 30"} {
		if !strings.Contains(string(k8s), want) {
			t.Errorf("kubernetes.yaml lacks %q", want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
