package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/service"
)

func echoService(t *testing.T, secret string, opts ...service.Option) string {
	t.Helper()
	svc, err := service.New("echo", secret, append([]service.Option{service.WithLogOutput(&bytes.Buffer{}, &bytes.Buffer{})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	svc.OnOrgInstall(func(_ context.Context, r *service.Request) service.Response {
		return service.OK(map[string]string{"installed": r.OID})
	})
	svc.OnRequest(func(_ context.Context, r *service.Request) service.Response {
		if r.String("fail") != "" {
			return service.Failf("asked to fail")
		}
		return service.OK(map[string]any{"oid": r.OID, "jwt_seen": r.Org().JWT != "", "name": r.String("name")})
	})
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSend(t *testing.T) {
	url := echoService(t, "right")
	dataFile := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(dataFile, []byte(`{"name":"from-file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const oid = "-oid=11111111-2222-3333-4444-555555555555"
	const jwt = "-jwt=j"
	cases := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		out, err string
	}{
		{"data flag", []string{"-secret=right", oid, jwt, `-data={"name":"ada"}`, url, "request"}, "", 0, `"name": "ada"`, ""},
		{"data file", []string{"-secret=right", oid, jwt, "-data-file=" + dataFile, url, "request"}, "", 0, `"name": "from-file"`, ""},
		{"stdin", []string{"-secret=right", oid, jwt, "-data-file=-", url, "request"}, `{"name":"piped"}`, 0, `"name": "piped"`, ""},
		{"health needs no oid", []string{"-secret=right", url, "health"}, "", 0, `"callbacks"`, ""},
		{"success false exits 1", []string{"-secret=right", oid, jwt, `-data={"fail":"y"}`, url, "request"}, "", 1, `"asked to fail"`, ""},
		{"not implemented exits 1", []string{"-secret=right", oid, jwt, url, "org_uninstall"}, "", 1, "not implemented", ""},
		{"install alias", []string{"-secret=right", oid, jwt, url, "install"}, "", 0, `"installed": "11111111-2222-3333-4444-555555555555"`, ""},
		{"unknown etype noted", []string{"-secret=right", oid, jwt, url, "bogus_etype"}, "", 1, "not implemented", "not an event type of the protocol"},
		{"wrong secret explained", []string{"-secret=wrong", oid, jwt, url, "request"}, "", 1, "", "not the one the service was started with"},
		{"no secret explained", []string{oid, url, "request"}, "", 2, "", "no secret to sign with"},
		{"insecure against a verifying service", []string{"-insecure", oid, jwt, url, "request"}, "", 1, "", "pass the shared secret"},
		{"missing oid", []string{"-secret=right", url, "request"}, "", 2, "", "pass -oid"},
		{"missing jwt", []string{"-secret=right", oid, url, "request"}, "", 2, "", "pass -jwt or export LC_JWT"},
		{"once_per needs no oid or jwt", []string{"-secret=right", url, "once_per_1h"}, "", 1, "not implemented", ""},
		{"bad data", []string{"-secret=right", oid, jwt, "-data=[1]", url, "request"}, "", 2, "", "JSON object"},
		{"transport failure", []string{"-secret=right", oid, jwt, "http://127.0.0.1:1/", "request"}, "", 1, "", "posting to"},
		{"wrong arg count", []string{"-secret=right", url}, "", 2, "", "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LC_SHARED_SECRET", "")
			t.Setenv("LC_OID", "")
			t.Setenv("LC_JWT", "")
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"send"}, c.args...), strings.NewReader(c.stdin), &out, &errOut)
			if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.err) {
				t.Errorf("code %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
		})
	}
}

func TestSendReadsEnvironment(t *testing.T) {
	url := echoService(t, "env-secret")
	t.Setenv("LC_SHARED_SECRET", "env-secret")
	t.Setenv("LC_OID", "11111111-2222-3333-4444-555555555555")
	t.Setenv("LC_JWT", "env-jwt")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"send", url, "request"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), `"jwt_seen": true`) {
		t.Errorf("code %d: %s %s", code, out.String(), errOut.String())
	}
}

// A flag given on the command line wins over its environment variable.
func TestSendFlagBeatsEnvironment(t *testing.T) {
	url := echoService(t, "flag-secret")
	t.Setenv("LC_SHARED_SECRET", "env-secret")
	t.Setenv("LC_OID", "11111111-2222-3333-4444-555555555555")
	t.Setenv("LC_JWT", "env-jwt")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"send", "-secret", "flag-secret", url, "request"}, nil, &out, &errOut); code != 0 {
		t.Errorf("code %d: %s %s", code, out.String(), errOut.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("no args: %d %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"bogus"}, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "bogus"`) {
		t.Errorf("bogus: %d", code)
	}
}

func TestSendExtension(t *testing.T) {
	url := echoService(t, "right", extension.Serve())
	const oid = "-oid=11111111-2222-3333-4444-555555555555"
	const jwt = "-jwt=j"
	ext := "-protocol=extension"
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"heartbeat", []string{ext, "-secret=right", url, "heartbeat"}, 0, "{}", ""},
		{"schema", []string{ext, "-secret=right", url, "schema_request"}, 0, `"request_schema"`, ""},
		{"request", []string{ext, "-secret=right", oid, jwt, `-data={"name":"ada"}`, url, "request"}, 0, `"name": "ada"`, ""},
		{"request failing", []string{ext, "-secret=right", oid, jwt, `-data={"fail":"y"}`, url, "request"}, 1, `"asked to fail"`, "HTTP 400"},
		{"unknown action", []string{ext, "-secret=right", oid, jwt, "-action=nope", url, "request"}, 1, `unknown action`, "HTTP 400"},
		{"install is subscribe", []string{ext, "-secret=right", oid, jwt, url, "install"}, 0, `"installed": "11111111-2222-3333-4444-555555555555"`, ""},
		{"request needs the org", []string{ext, "-secret=right", url, "request"}, 2, "", "pass -oid and -jwt"},
		{"not a message", []string{ext, "-secret=right", url, "org_per_1h"}, 2, "", "not an extension message"},
		{"wrong secret", []string{ext, "-secret=wrong", url, "heartbeat"}, 1, "", "not the one the service was started with"},
		{"bad protocol", []string{"-protocol=grpc", url, "heartbeat"}, 2, "", "use service or extension"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LC_SHARED_SECRET", "")
			t.Setenv("LC_OID", "")
			t.Setenv("LC_JWT", "")
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"send"}, c.args...), strings.NewReader(""), &out, &errOut)
			if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.err) {
				t.Errorf("code %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
		})
	}
}
