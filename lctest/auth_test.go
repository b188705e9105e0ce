package lctest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthAndRouting(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	other := c.NewOrg("other")
	s := org.AddSensor(SensorConfig{})
	foreign := other.AddSensor(SensorConfig{})
	task := url.Values{"tasks": {"os_version"}}

	tests := []struct {
		name   string
		header string // Authorization, verbatim
		method string
		path   string
		form   url.Values
		want   int
	}{
		{"task ok", "bearer " + org.JWT, "POST", "/v1/" + s.SID, task, 200},
		{"scheme is case-insensitive", "Bearer " + org.JWT, "POST", "/v1/" + s.SID, task, 200},
		{"no header", "", "POST", "/v1/" + s.SID, task, 401},
		{"not bearer", "Basic " + org.JWT, "POST", "/v1/" + s.SID, task, 401},
		{"empty token", "bearer ", "POST", "/v1/" + s.SID, task, 401},
		{"unknown jwt", "bearer nope", "POST", "/v1/" + s.SID, task, 401},
		{"sensor of another org", "bearer " + org.JWT, "POST", "/v1/" + foreign.SID, task, 404},
		{"unknown sensor", "bearer " + org.JWT, "POST", "/v1/00000000-0000-0000-0000-000000000000", task, 404},
		{"no tasks", "bearer " + org.JWT, "POST", "/v1/" + s.SID, url.Values{"investigation_id": {"x"}}, 400},
		{"empty task", "bearer " + org.JWT, "POST", "/v1/" + s.SID, url.Values{"tasks": {""}}, 400},
		{"hive of another org", "bearer " + org.JWT, "GET", "/v1/hive/dr-managed/" + other.OID, nil, 403},
		{"hive of an unknown org", "bearer " + org.JWT, "GET", "/v1/hive/dr-managed/unknown", nil, 403},
		{"hive without jwt", "", "GET", "/v1/hive/dr-managed/" + org.OID, nil, 401},
		{"hive ok", "bearer " + org.JWT, "GET", "/v1/hive/dr-managed/" + org.OID, nil, 200},
		{"not a rule hive", "bearer " + org.JWT, "GET", "/v1/hive/secret/" + org.OID, nil, 404},
		{"legacy of another org", "bearer " + org.JWT, "GET", "/v1/rules/" + other.OID, nil, 403},
		{"legacy ok", "bearer " + org.JWT, "GET", "/v1/rules/" + org.OID, nil, 200},
		{"unknown path", "bearer " + org.JWT, "GET", "/v1/nothing/here/at/all", nil, 404},
		{"unknown root", "", "GET", "/", nil, 404},
		{"wrong method", "bearer " + org.JWT, "PUT", "/v1/rules/" + org.OID, nil, 405},
		{"bad form", "bearer " + org.JWT, "POST", "/v1/" + s.SID, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			var status int
			var body []byte
			if tt.name == "bad form" {
				status, body = rawPost(t, a, c.URL()+tt.path, h, "tasks=%zz")
			} else {
				status, _, body = a.do("", tt.method, tt.path, tt.form, h)
			}
			if status != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", status, tt.want, body)
			}
			if status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": …}", body)
				}
			}
		})
	}
}

// rawPost posts a form body verbatim.
func rawPost(t *testing.T, a *restClient, target string, h http.Header, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
