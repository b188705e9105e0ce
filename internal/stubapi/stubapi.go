// Package stubapi is a small stand-in for the LimaCharlie REST API, for
// tests of code that tasks sensors and stores D&R rules through a
// tasking.Client, in the spirit of net/http/httptest.
//
// New starts an API on a loopback URL, closed when the test ends. Point a
// client at it with tasking.WithBaseURL(api.URL), or a service binary at
// it with LC_API_URL. The API
//
//   - records every task (POST /v1/{sid}) with its sensor, commands,
//     investigation_id, idempotency key (x-idempotent-key) and
//     Authorization header; a task whose key it has already recorded is
//     answered 200 and not recorded again, as the real API tasks a sensor
//     once per key;
//   - stores D&R rules, one organization's worth, through both rule APIs
//     a tasking.Client speaks: the Hive (POST /v1/hive/dr-{ns}/{oid}/{name}/data,
//     DELETE /v1/hive/dr-{ns}/{oid}/{name}, GET /v1/hive/dr-{ns}/{oid}) and
//     the legacy rules API (POST, DELETE and GET /v1/rules/{oid}); deleting
//     a rule that is not stored is answered 404;
//   - refuses the next task or rule calls with the statuses a test queues
//     with FailNextTasks and FailNextRules, to exercise retries and errors;
//   - answers 404 to everything else.
//
// It checks no credentials and ignores the organization id in paths. For a
// whole emulated cloud (sensors that answer tasks, rules that turn their
// events into detection webhooks) use package lctest instead.
package stubapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// maxBody bounds a request body the API reads; rules are the largest.
const maxBody = 1 << 20

// API is a running stub REST API. Its methods are safe for concurrent use.
type API struct {
	// URL is the API's base URL, of the form http://127.0.0.1:port, with
	// no trailing slash.
	URL string

	mu        sync.Mutex
	tasks     []Task
	attempts  int             // task calls, refused and repeated ones included
	keys      map[string]bool // idempotency keys of the recorded tasks
	rules     map[string]Rule // by "namespace/name"
	ruleCalls []string
	failTasks []int
	failRules []int
}

// Task is a task the API recorded.
type Task struct {
	SID             string   // the sensor, from the path
	Commands        []string // the form's "tasks" values
	InvestigationID string   // the form's investigation_id
	IdempotencyKey  string   // the x-idempotent-key header; "" if none
	Auth            string   // the Authorization header
}

// Rule is a D&R rule the API stores.
type Rule struct {
	Detect  json.RawMessage `json:"detect"`
	Respond json.RawMessage `json:"respond"`
	Enabled bool            `json:"-"`
}

// New starts an API, closed when t's test ends.
func New(t testing.TB) *API {
	a := &API{keys: map[string]bool{}, rules: map[string]Rule{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Tasks returns the tasks recorded so far, in the order they arrived.
func (a *API) Tasks() []Task {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.tasks)
}

// TaskAttempts returns how many task calls the API received: the recorded
// tasks, the repeats of a recorded idempotency key, and the refused calls.
func (a *API) TaskAttempts() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempts
}

// FailNextTasks answers the next task calls, one status each, with these
// statuses instead of handling them. A refused task is not recorded.
func (a *API) FailNextTasks(statuses ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failTasks = append(a.failTasks, statuses...)
}

// FailNextRules answers the next rule calls (put, delete or list, through
// either rule API), one status each, with these statuses instead of
// handling them.
func (a *API) FailNextRules(statuses ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failRules = append(a.failRules, statuses...)
}

// Rule returns the rule stored under namespace and name.
func (a *API) Rule(namespace, name string) (Rule, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.rules[namespace+"/"+name]
	return r, ok
}

// RuleNames returns the stored rules as "namespace/name", sorted.
func (a *API) RuleNames() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.rules))
	for k := range a.rules {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// DeleteRule removes a stored rule, as a user deleting it in the web app
// would; it is not a rule call. It reports whether the rule was stored.
func (a *API) DeleteRule(namespace, name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := namespace + "/" + name
	_, ok := a.rules[key]
	delete(a.rules, key)
	return ok
}

// RuleCalls returns the rule calls received so far, refused ones included,
// in order: "POST namespace/name" for a put, "DELETE namespace/name" for a
// delete, "GET namespace" for a list.
func (a *API) RuleCalls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ruleCalls)
}

// ruleCall is a rule call the API recognised.
type ruleCall struct {
	method, namespace, name string
	legacy                  bool
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("reading the body: %v", err))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the body is not a URL-encoded form: %v", err))
		return
	}
	for k, vs := range r.URL.Query() {
		form[k] = append(form[k], vs...)
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 2 && parts[0] == "v1" && r.Method == http.MethodPost {
		a.task(w, r, parts[1], form)
		return
	}
	if c, ok := parseRuleCall(r.Method, parts, form); ok {
		a.rule(w, c, form)
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s is not served by the stub API", r.Method, r.URL.Path))
}

// parseRuleCall recognises the rule calls of the Hive and legacy APIs.
func parseRuleCall(method string, parts []string, form url.Values) (ruleCall, bool) {
	if len(parts) == 3 && parts[0] == "v1" && parts[1] == "rules" {
		c := ruleCall{method: method, namespace: form.Get("namespace"), name: form.Get("name"), legacy: true}
		switch method {
		case http.MethodGet:
			return c, c.namespace != ""
		case http.MethodPost, http.MethodDelete:
			return c, c.namespace != "" && c.name != ""
		}
		return ruleCall{}, false
	}
	if len(parts) < 4 || parts[0] != "v1" || parts[1] != "hive" {
		return ruleCall{}, false
	}
	ns, ok := strings.CutPrefix(parts[2], "dr-")
	if !ok || ns == "" {
		return ruleCall{}, false
	}
	c := ruleCall{method: method, namespace: ns}
	switch {
	case method == http.MethodGet && len(parts) == 4:
		return c, true
	case method == http.MethodPost && len(parts) == 6 && parts[5] == "data",
		method == http.MethodDelete && len(parts) == 5:
		c.name = parts[4]
		return c, c.name != ""
	}
	return ruleCall{}, false
}

func (a *API) task(w http.ResponseWriter, r *http.Request, sid string, form url.Values) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.attempts++
	if refuse(w, &a.failTasks) {
		return
	}
	key := r.Header.Get("x-idempotent-key")
	if key != "" && a.keys[key] {
		writeJSON(w, struct{}{})
		return
	}
	if key != "" {
		a.keys[key] = true
	}
	a.tasks = append(a.tasks, Task{
		SID: sid, Commands: form["tasks"], InvestigationID: form.Get("investigation_id"),
		IdempotencyKey: key, Auth: r.Header.Get("Authorization"),
	})
	writeJSON(w, struct{}{})
}

func (a *API) rule(w http.ResponseWriter, c ruleCall, form url.Values) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.method == http.MethodGet {
		a.ruleCalls = append(a.ruleCalls, "GET "+c.namespace)
	} else {
		a.ruleCalls = append(a.ruleCalls, c.method+" "+c.namespace+"/"+c.name)
	}
	if refuse(w, &a.failRules) {
		return
	}
	key := c.namespace + "/" + c.name
	switch c.method {
	case http.MethodPost:
		rule, err := ruleFromForm(c.legacy, form)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("rule %s: %v", key, err))
			return
		}
		a.rules[key] = rule
		writeJSON(w, struct{}{})
	case http.MethodDelete:
		if _, ok := a.rules[key]; !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("rule %s is not stored", key))
			return
		}
		delete(a.rules, key)
		writeJSON(w, struct{}{})
	case http.MethodGet:
		writeJSON(w, a.list(c.namespace, c.legacy))
	}
}

// ruleFromForm reads the rule a put carries: the Hive's data and usr_mtd,
// or the legacy API's detection, response and is_enabled.
func ruleFromForm(legacy bool, form url.Values) (Rule, error) {
	var rule Rule
	if legacy {
		rule.Detect, rule.Respond = json.RawMessage(form.Get("detection")), json.RawMessage(form.Get("response"))
		if !json.Valid(rule.Detect) || !json.Valid(rule.Respond) {
			return Rule{}, fmt.Errorf("detection and response must be JSON, got %q and %q", rule.Detect, rule.Respond)
		}
		enabled, err := strconv.ParseBool(form.Get("is_enabled"))
		rule.Enabled = enabled || err != nil // absent: every legacy rule runs
		return rule, nil
	}
	if err := json.Unmarshal([]byte(form.Get("data")), &rule); err != nil {
		return Rule{}, fmt.Errorf("data must be a JSON object {detect, respond}: %v", err)
	}
	var mtd struct {
		Enabled bool `json:"enabled"`
	}
	if m := form.Get("usr_mtd"); m != "" {
		if err := json.Unmarshal([]byte(m), &mtd); err != nil {
			return Rule{}, fmt.Errorf("usr_mtd must be a JSON object: %v", err)
		}
	}
	rule.Enabled = mtd.Enabled
	return rule, nil
}

// list answers a list of namespace's rules, keyed by name, in the shape
// of the API asked: Hive records or legacy rules.
func (a *API) list(namespace string, legacy bool) map[string]any {
	out := map[string]any{}
	for key, rule := range a.rules {
		name, ok := strings.CutPrefix(key, namespace+"/")
		if !ok {
			continue
		}
		if legacy {
			out[name] = map[string]any{"name": name, "namespace": namespace,
				"detect": rule.Detect, "respond": rule.Respond, "is_enabled": rule.Enabled}
		} else {
			out[name] = map[string]any{"data": rule, "usr_mtd": map[string]any{"enabled": rule.Enabled}}
		}
	}
	return out
}

// refuse answers with the next queued status, if any.
func refuse(w http.ResponseWriter, queue *[]int) bool {
	if len(*queue) == 0 {
		return false
	}
	status := (*queue)[0]
	*queue = (*queue)[1:]
	writeError(w, status, fmt.Sprintf("refused by the stub API with status %d, as the test asked", status))
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
