package exampletest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// StubAPI is a LimaCharlie REST API of the test's own, for examples served
// as extensions: it records tasks (POST /v1/{sid}) and stores D&R rules
// (Hive dr-<namespace>), and fails the next calls when told to.
type StubAPI struct {
	*httptest.Server
	mu        sync.Mutex
	tasks     []Task
	rules     map[string]Rule // "namespace/name"
	failRules []int
}

// Task is a task the stub recorded.
type Task struct {
	SID, InvestigationID, Auth string
	Commands                   []string
}

// Rule is a rule the stub stores: its detect and respond JSON.
type Rule struct {
	Detect  json.RawMessage `json:"detect"`
	Respond json.RawMessage `json:"respond"`
}

// NewStubAPI starts a stub, closed at the end of the test.
func NewStubAPI(t *testing.T) *StubAPI {
	s := &StubAPI{rules: map[string]Rule{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *StubAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "v1":
		s.tasks = append(s.tasks, Task{SID: parts[1], Commands: form["tasks"], InvestigationID: form.Get("investigation_id"), Auth: r.Header.Get("Authorization")})
		_, _ = io.WriteString(w, `{}`)
	case len(parts) >= 5 && parts[1] == "hive" && strings.HasPrefix(parts[2], "dr-"):
		if len(s.failRules) > 0 {
			status := s.failRules[0]
			s.failRules = s.failRules[1:]
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"error":"injected"}`)
			return
		}
		key := strings.TrimPrefix(parts[2], "dr-") + "/" + parts[4]
		switch r.Method {
		case http.MethodPost:
			var rule Rule
			_ = json.Unmarshal([]byte(form.Get("data")), &rule)
			s.rules[key] = rule
		case http.MethodDelete:
			if _, ok := s.rules[key]; !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			delete(s.rules, key)
		}
		_, _ = io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// Tasks returns the tasks recorded so far.
func (s *StubAPI) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Task(nil), s.tasks...)
}

// Rule returns the rule stored under namespace/name.
func (s *StubAPI) Rule(namespace, name string) (Rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rules[namespace+"/"+name]
	return r, ok
}

// RuleNames lists the stored rules as namespace/name.
func (s *StubAPI) RuleNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.rules {
		out = append(out, k)
	}
	return out
}

// FailNextRules answers the next rule calls with these statuses.
func (s *StubAPI) FailNextRules(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRules = append(s.failRules, statuses...)
}
