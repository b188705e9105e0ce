package tasking

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// sameJSON reports whether a and b encode the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func testRule() Rule {
	return Rule{
		Name:      "my rule/1",
		Namespace: "general",
		Detect:    json.RawMessage(`{"op":"is","path":"routing/event_type","value":"NEW_PROCESS"}`),
		Respond:   json.RawMessage(`[{"action":"report","name":"x"}]`),
		Enabled:   true,
	}
}

func TestHivePutRule(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		usrMtd  string
	}{
		{"enabled", true, `{"enabled":true,"expiry":0,"tags":[],"comment":""}`},
		{"disabled", false, `{"enabled":false,"expiry":0,"tags":[],"comment":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newStubAPI(t, jsonBody("{}"))
			c, _ := api.client()
			r := testRule()
			r.Enabled = tt.enabled
			if err := c.PutRule(context.Background(), testOrg(), r); err != nil {
				t.Fatalf("PutRule: %v", err)
			}
			got := api.requests()[0]
			if got.Method != http.MethodPost || got.RawPath != "/v1/hive/dr-general/"+testOID+"/my%20rule%2F1/data" {
				t.Errorf("%s %s, want POST /v1/hive/dr-general/<oid>/my%%20rule%%2F1/data", got.Method, got.RawPath)
			}
			if got.Header.Get("Authorization") != "bearer "+testJWT {
				t.Errorf("Authorization = %q", got.Header.Get("Authorization"))
			}
			want := `{"detect":{"op":"is","path":"routing/event_type","value":"NEW_PROCESS"},"respond":[{"action":"report","name":"x"}]}`
			if got.Form.Get("data") != want {
				t.Errorf("data = %s, want %s", got.Form.Get("data"), want)
			}
			if got.Form.Get("usr_mtd") != tt.usrMtd {
				t.Errorf("usr_mtd = %s, want %s", got.Form.Get("usr_mtd"), tt.usrMtd)
			}
		})
	}
}

func TestHiveListRules(t *testing.T) {
	const answer = `{
	  "svc-demo-ex": {
	    "data": {"detect": {"op":"exists","path":"routing/investigation_id"}, "respond": [{"action":"report","name":"__svc-demo-ex"}]},
	    "sys_mtd": {"etag": "abc", "created_by": "someone"},
	    "usr_mtd": {"enabled": true, "expiry": 0, "tags": [], "comment": ""}
	  },
	  "off": {"data": {"detect": {}, "respond": []}, "sys_mtd": {}, "usr_mtd": {"enabled": false}},
	  "no-mtd": {"data": {"detect": {}, "respond": []}}
	}`
	api := newStubAPI(t, jsonBody(answer))
	c, _ := api.client()
	rules, err := c.ListRules(context.Background(), testOrg(), "managed")
	if err != nil {
		t.Fatalf("ListRules: %v", err)
	}
	got := api.requests()[0]
	if got.Method != http.MethodGet || got.Path != "/v1/hive/dr-managed/"+testOID {
		t.Errorf("%s %s, want GET /v1/hive/dr-managed/<oid>", got.Method, got.Path)
	}
	if len(rules) != 3 {
		t.Fatalf("got %d rules, want 3: %v", len(rules), rules)
	}
	r := rules["svc-demo-ex"]
	if r.Name != "svc-demo-ex" || r.Namespace != "managed" || !r.Enabled {
		t.Errorf("rule = %+v", r)
	}
	if !sameJSON(t, r.Detect, []byte(`{"op":"exists","path":"routing/investigation_id"}`)) ||
		!sameJSON(t, r.Respond, []byte(`[{"action":"report","name":"__svc-demo-ex"}]`)) {
		t.Errorf("detect %s respond %s", r.Detect, r.Respond)
	}
	if rules["off"].Enabled || rules["no-mtd"].Enabled {
		t.Errorf("records without usr_mtd.enabled=true must list as disabled: %+v %+v", rules["off"], rules["no-mtd"])
	}
}

func TestListRulesEmptyAnswers(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		for _, body := range []string{"", "{}", "null"} {
			api := newStubAPI(t, jsonBody(body))
			var opts []Option
			if legacy {
				opts = append(opts, WithLegacyRules())
			}
			c, _ := api.client(opts...)
			rules, err := c.ListRules(context.Background(), testOrg(), "managed")
			if err != nil || rules == nil || len(rules) != 0 {
				t.Errorf("legacy=%v body %q: rules %v, err %v; want an empty map", legacy, body, rules, err)
			}
		}
	}
}

func TestListRulesBadAnswer(t *testing.T) {
	api := newStubAPI(t, jsonBody(`["not","an","object"]`))
	c, _ := api.client()
	if _, err := c.ListRules(context.Background(), testOrg(), "managed"); err == nil {
		t.Fatal("ListRules accepted a JSON array")
	}
}

func TestHiveDeleteRule(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"))
	c, _ := api.client()
	if err := c.DeleteRule(context.Background(), testOrg(), "managed", "svc-demo-ex"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	got := api.requests()[0]
	if got.Method != http.MethodDelete || got.Path != "/v1/hive/dr-managed/"+testOID+"/svc-demo-ex" || got.Body != "" {
		t.Errorf("%s %s body %q, want DELETE /v1/hive/dr-managed/<oid>/svc-demo-ex without body", got.Method, got.Path, got.Body)
	}
}

func TestDeleteMissingRuleIsNotFound(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		api := newStubAPI(t, status(http.StatusNotFound, `{"error":"record not found"}`))
		var opts []Option
		if legacy {
			opts = append(opts, WithLegacyRules())
		}
		c, _ := api.client(opts...)
		err := c.DeleteRule(context.Background(), testOrg(), "managed", "gone")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("legacy=%v: error = %v, want ErrNotFound", legacy, err)
		}
		if n := len(api.requests()); n != 1 {
			t.Errorf("legacy=%v: %d attempts, want 1", legacy, n)
		}
	}
}

func TestLegacyPutRule(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"))
	c, _ := api.client(WithLegacyRules())
	r := testRule()
	r.Enabled = false
	if err := c.PutRule(context.Background(), testOrg(), r); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	got := api.requests()[0]
	if got.Method != http.MethodPost || got.Path != "/v1/rules/"+testOID {
		t.Errorf("%s %s, want POST /v1/rules/<oid>", got.Method, got.Path)
	}
	want := map[string]string{
		"name": "my rule/1", "namespace": "general",
		"detection":  string(r.Detect),
		"response":   string(r.Respond),
		"is_replace": "true", "is_enabled": "false",
	}
	for k, v := range want {
		if got.Form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, got.Form.Get(k), v)
		}
	}
	if len(got.Form) != len(want) {
		t.Errorf("form has %d fields, want %d: %v", len(got.Form), len(want), got.Form)
	}
}

func TestLegacyListRules(t *testing.T) {
	const answer = `{
	  "a": {"name":"a","namespace":"managed","detect":{"op":"exists","path":"event"},"respond":[],"is_enabled":true},
	  "b": {"name":"b","namespace":"managed","detect":{},"respond":[],"is_enabled":false},
	  "c": {"name":"c","detect":{},"respond":[]}
	}`
	api := newStubAPI(t, jsonBody(answer))
	c, _ := api.client(WithLegacyRules())
	rules, err := c.ListRules(context.Background(), testOrg(), "managed")
	if err != nil {
		t.Fatalf("ListRules: %v", err)
	}
	got := api.requests()[0]
	if got.Method != http.MethodGet || got.Path != "/v1/rules/"+testOID || got.Query.Get("namespace") != "managed" {
		t.Errorf("%s %s?%s, want GET /v1/rules/<oid>?namespace=managed", got.Method, got.Path, got.Query.Encode())
	}
	tests := []struct {
		name    string
		enabled bool
	}{{"a", true}, {"b", false}, {"c", true}}
	for _, tt := range tests {
		r := rules[tt.name]
		if r.Name != tt.name || r.Namespace != "managed" || r.Enabled != tt.enabled {
			t.Errorf("rule %s = %+v, want enabled=%v in managed", tt.name, r, tt.enabled)
		}
	}
	if !sameJSON(t, rules["a"].Detect, []byte(`{"op":"exists","path":"event"}`)) {
		t.Errorf("detect of a = %s", rules["a"].Detect)
	}
}

func TestLegacyDeleteRuleSendsFormBody(t *testing.T) {
	api := newStubAPI(t, jsonBody("{}"))
	c, _ := api.client(WithLegacyRules())
	if err := c.DeleteRule(context.Background(), testOrg(), "managed", "svc-demo-ex"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	got := api.requests()[0]
	if got.Method != http.MethodDelete || got.Path != "/v1/rules/"+testOID {
		t.Errorf("%s %s, want DELETE /v1/rules/<oid>", got.Method, got.Path)
	}
	if got.Form.Get("name") != "svc-demo-ex" || got.Form.Get("namespace") != "managed" || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("DELETE body %q (%s), want form name=svc-demo-ex&namespace=managed", got.Body, got.Header.Get("Content-Type"))
	}
}
