package lctest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

func TestHiveRoundTrip(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	base := "/v1/hive/dr-managed/" + org.OID

	a.putHiveRule(org, "managed", "svc-svc-ex", replicantDetect, replicantRespond, true)
	// Without usr_mtd a record is disabled.
	status, _, body := a.do(org.JWT, http.MethodPost, base+"/off/data",
		url.Values{"data": {`{"detect":{"op":"exists","path":"event"},"respond":[]}`}}, nil)
	if status != 200 {
		t.Fatalf("put without usr_mtd: HTTP %d %s", status, body)
	}
	// Another namespace stays out of this hive's list.
	a.putHiveRule(org, "general", "elsewhere", `{"op":"exists","path":"event"}`, `[]`, true)

	status, _, body = a.do(org.JWT, http.MethodGet, base, nil, nil)
	if status != 200 {
		t.Fatalf("list: HTTP %d %s", status, body)
	}
	var list map[string]struct {
		Data struct {
			Detect  json.RawMessage `json:"detect"`
			Respond json.RawMessage `json:"respond"`
		} `json:"data"`
		SysMtd map[string]any `json:"sys_mtd"`
		UsrMtd struct {
			Enabled bool     `json:"enabled"`
			Tags    []string `json:"tags"`
		} `json:"usr_mtd"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("list is not {name:{data,sys_mtd,usr_mtd}}: %v: %s", err, body)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d records, want 2: %s", len(list), body)
	}
	rec := list["svc-svc-ex"]
	if !rec.UsrMtd.Enabled || rec.UsrMtd.Tags == nil || rec.SysMtd["etag"] == "" {
		t.Errorf("record metadata = %+v", rec)
	}
	if !jsonEqual(t, rec.Data.Detect, replicantDetect) || !jsonEqual(t, rec.Data.Respond, replicantRespond) {
		t.Errorf("detect/respond changed on the way: %s %s", rec.Data.Detect, rec.Data.Respond)
	}
	if list["off"].UsrMtd.Enabled {
		t.Error("a record stored without usr_mtd is enabled")
	}

	// One record.
	status, _, body = a.do(org.JWT, http.MethodGet, base+"/svc-svc-ex/data", nil, nil)
	if status != 200 {
		t.Fatalf("get: HTTP %d %s", status, body)
	}

	// The legacy view reads the same store.
	legacy := legacyList(t, a, org, "managed")
	if r, ok := legacy["svc-svc-ex"]; !ok || !r.IsEnabled || r.Namespace != "managed" {
		t.Errorf("legacy view of a hive rule = %+v (present %v)", r, ok)
	}

	for _, tt := range []struct {
		name   string
		method string
		path   string
		form   url.Values
		want   int
	}{
		{"delete", http.MethodDelete, base + "/svc-svc-ex", nil, 200},
		{"delete again", http.MethodDelete, base + "/svc-svc-ex", nil, 404},
		{"get deleted", http.MethodGet, base + "/svc-svc-ex/data", nil, 404},
		{"put without data", http.MethodPost, base + "/x/data", url.Values{"usr_mtd": {`{"enabled":true}`}}, 400},
		{"put data not JSON", http.MethodPost, base + "/x/data", url.Values{"data": {`{nope`}}, 400},
		{"put usr_mtd not JSON", http.MethodPost, base + "/x/data", url.Values{"data": {`{}`}, "usr_mtd": {`[`}}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := a.do(org.JWT, tt.method, tt.path, tt.form, nil); status != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", status, tt.want, body)
			}
		})
	}
	if _, ok := org.Rule("managed", "svc-svc-ex"); ok {
		t.Error("the deleted rule is still stored")
	}
}

type legacyRule struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Detect    json.RawMessage `json:"detect"`
	Respond   json.RawMessage `json:"respond"`
	IsEnabled bool            `json:"is_enabled"`
}

func legacyList(t *testing.T, a *restClient, org *Org, ns string) map[string]legacyRule {
	t.Helper()
	status, _, body := a.do(org.JWT, http.MethodGet, "/v1/rules/"+org.OID+"?namespace="+ns, nil, nil)
	if status != 200 {
		t.Fatalf("legacy list: HTTP %d %s", status, body)
	}
	var out map[string]legacyRule
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("legacy list: %v: %s", err, body)
	}
	return out
}

func TestLegacyRoundTrip(t *testing.T) {
	c := newTestCloud(t)
	a := newAPI(t, c)
	org := c.NewOrg("acme")
	path := "/v1/rules/" + org.OID
	put := func(name, replace, enabled string) int {
		form := url.Values{
			"name": {name}, "namespace": {"managed"},
			"detection": {replicantDetect}, "response": {replicantRespond},
			"is_replace": {replace},
		}
		if enabled != "" {
			form.Set("is_enabled", enabled)
		}
		status, _, _ := a.do(org.JWT, http.MethodPost, path, form, nil)
		return status
	}
	if s := put("svc-svc-ex", "false", "true"); s != 200 {
		t.Fatalf("create: HTTP %d", s)
	}
	if s := put("svc-svc-ex", "false", "true"); s != http.StatusConflict {
		t.Fatalf("create over an existing rule without is_replace: HTTP %d, want 409", s)
	}
	if s := put("svc-svc-ex", "true", "false"); s != 200 {
		t.Fatalf("replace: HTTP %d", s)
	}
	if s := put("no-flag", "true", ""); s != 200 {
		t.Fatalf("create without is_enabled: HTTP %d", s)
	}
	if s := put("bad", "maybe", ""); s != 400 {
		t.Fatalf("is_replace=maybe: HTTP %d, want 400", s)
	}
	list := legacyList(t, a, org, "managed")
	if len(list) != 2 {
		t.Fatalf("listed %v, want 2 rules", list)
	}
	if r := list["svc-svc-ex"]; r.IsEnabled || r.Name != "svc-svc-ex" || !jsonEqual(t, r.Detect, replicantDetect) {
		t.Errorf("replaced rule = %+v", r)
	}
	if !list["no-flag"].IsEnabled {
		t.Error("a legacy rule without is_enabled is disabled; absent means enabled")
	}
	if got := legacyList(t, a, org, "general"); len(got) != 0 {
		t.Errorf("namespace general lists %v", got)
	}
	// The Hive view reads the same store.
	status, _, body := a.do(org.JWT, http.MethodGet, "/v1/hive/dr-managed/"+org.OID+"/no-flag/data", nil, nil)
	if status != 200 {
		t.Errorf("hive view of a legacy rule: HTTP %d %s", status, body)
	}

	// DELETE carries name and namespace in the form body.
	del := func(form url.Values) int {
		status, _, _ := a.do(org.JWT, http.MethodDelete, path, form, nil)
		return status
	}
	if s := del(url.Values{"name": {"svc-svc-ex"}, "namespace": {"managed"}}); s != 200 {
		t.Fatalf("delete: HTTP %d", s)
	}
	if s := del(url.Values{"name": {"svc-svc-ex"}, "namespace": {"managed"}}); s != 404 {
		t.Fatalf("delete again: HTTP %d, want 404", s)
	}
	if s := del(url.Values{"namespace": {"managed"}}); s != 400 {
		t.Fatalf("delete without name: HTTP %d, want 400", s)
	}
	if s := del(url.Values{"name": {"no-flag"}, "namespace": {"general"}}); s != 404 {
		t.Fatalf("delete in the wrong namespace: HTTP %d, want 404", s)
	}
	if got := org.Rules(); len(got) != 1 || got[0].Name != "no-flag" {
		t.Fatalf("rules left = %+v", got)
	}
	for _, bad := range []url.Values{
		{"namespace": {"managed"}, "detection": {"{}"}, "response": {"[]"}},
		{"name": {"x"}, "detection": {"{"}, "response": {"[]"}},
		{"name": {"x"}, "detection": {"{}"}},
	} {
		if status, _, body := a.do(org.JWT, http.MethodPost, path, bad, nil); status != 400 {
			t.Errorf("put %v: HTTP %d, want 400: %s", bad, status, body)
		}
	}
}

func TestSetRuleAndInvalidRules(t *testing.T) {
	rec := &recorder{}
	c := newTestCloud(t, WithObserver(rec.observe))
	org := c.NewOrg("acme")
	if err := org.SetRule(StoredRule{}); err == nil {
		t.Error("SetRule without a name succeeded")
	}
	if err := org.SetRule(StoredRule{Name: "a/b"}); err == nil {
		t.Error("SetRule with a slash in the name succeeded")
	}
	err := org.SetRule(StoredRule{Name: "broken", Detect: json.RawMessage(`{"op":"bogus"}`), Respond: json.RawMessage(`[]`), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := org.Rule(DefaultNamespace, "broken")
	if !ok || r.Err == nil || r.Created.IsZero() {
		t.Fatalf("stored invalid rule = %+v (found %v), want it stored with Err", r, ok)
	}
	if errs := rec.kind(ActivityRuleError); len(errs) != 1 || errs[0].What != "broken" {
		t.Fatalf("observer saw %+v, want one rule error for broken", errs)
	}
	if !org.DeleteRule("", "broken") || org.DeleteRule("", "broken") {
		t.Error("DeleteRule did not report the rule's presence")
	}
}

// jsonEqual reports whether got and want hold the same JSON value.
func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
