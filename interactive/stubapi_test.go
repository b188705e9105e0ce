package interactive

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

// stubAPI is a LimaCharlie REST API of our own: it records tasks and rule
// calls, and can refuse the next task calls with a status.
type stubAPI struct {
	*httptest.Server
	mu        sync.Mutex
	tasks     []stubTask
	attempts  int // task calls, including refused ones
	ruleCalls []string
	rules     map[string]json.RawMessage // name -> data
	failNext  []int                      // statuses for the next task calls
	keysSeen  map[string]bool
}

type stubTask struct {
	SID, InvestigationID, IdempotencyKey, Auth string
	Commands                                   []string
}

func newStubAPI(t *testing.T) *stubAPI {
	s := &stubAPI{rules: map[string]json.RawMessage{}, keysSeen: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stubAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "v1":
		s.attempts++
		if len(s.failNext) > 0 {
			status := s.failNext[0]
			s.failNext = s.failNext[1:]
			w.Header().Set("X-RateLimit-Period", "0")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"error":"slow down"}`)
			return
		}
		key := r.Header.Get("x-idempotent-key")
		if key != "" && s.keysSeen[key] {
			_, _ = io.WriteString(w, `{}`)
			return
		}
		s.keysSeen[key] = true
		s.tasks = append(s.tasks, stubTask{
			SID: parts[1], Commands: form["tasks"], InvestigationID: form.Get("investigation_id"),
			IdempotencyKey: key, Auth: r.Header.Get("Authorization"),
		})
		_, _ = io.WriteString(w, `{}`)
	case len(parts) >= 4 && parts[1] == "hive" && parts[2] == "dr-managed":
		name := ""
		if len(parts) >= 5 {
			name = parts[4]
		}
		s.ruleCalls = append(s.ruleCalls, r.Method+" "+name)
		switch r.Method {
		case http.MethodPost:
			s.rules[name] = json.RawMessage(form.Get("data"))
		case http.MethodDelete:
			if _, ok := s.rules[name]; !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			delete(s.rules, name)
		}
		_, _ = io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *stubAPI) recordedTasks() []stubTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubTask(nil), s.tasks...)
}

func (s *stubAPI) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ruleCalls...)
}

func (s *stubAPI) attemptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}
