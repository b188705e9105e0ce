package stubapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/tasking"
)

const sid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

var org = tasking.Org{ID: "11111111-2222-3333-4444-555555555555", JWT: "org-jwt"}

// client calls api, retrying up to four attempts without a real back-off.
func client(api *stubapi.API, opts ...tasking.Option) *tasking.Client {
	return tasking.NewClient(append([]tasking.Option{tasking.WithBaseURL(api.URL), tasking.WithRetry(4, time.Millisecond, 5*time.Millisecond)}, opts...)...)
}

func TestTasksAreRecordedOncePerKey(t *testing.T) {
	api := stubapi.New(t)
	c := client(api)
	ctx := t.Context()
	first := tasking.TaskRequest{SID: sid, Commands: []string{"os_packages", "os_version"}, InvestigationID: "inv-1", IdempotencyKey: "k1"}
	for range 2 {
		if err := c.Task(ctx, org, first); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Task(ctx, org, tasking.TaskRequest{SID: sid, Commands: []string{"os_version"}}); err != nil {
		t.Fatal(err)
	}
	tasks := api.Tasks()
	if len(tasks) != 2 || api.TaskAttempts() != 3 {
		t.Fatalf("%d tasks after %d attempts, want 2 after 3: %+v", len(tasks), api.TaskAttempts(), tasks)
	}
	got := tasks[0]
	if got.SID != sid || !slices.Equal(got.Commands, first.Commands) || got.InvestigationID != "inv-1" ||
		got.IdempotencyKey != "k1" || got.Auth != "bearer org-jwt" {
		t.Errorf("first task %+v", got)
	}
	if tasks[1].IdempotencyKey == "" || tasks[1].IdempotencyKey == "k1" || tasks[1].InvestigationID != "" {
		t.Errorf("second task %+v: want a key of its own and no investigation_id", tasks[1])
	}
}

func TestFailNextTasks(t *testing.T) {
	api := stubapi.New(t)
	c := client(api)
	req := tasking.TaskRequest{SID: sid, Commands: []string{"os_version"}, IdempotencyKey: "k"}
	api.FailNextTasks(http.StatusServiceUnavailable, http.StatusTooManyRequests)
	if err := c.Task(t.Context(), org, req); err != nil {
		t.Fatalf("a task refused twice, then accepted, on the third of four attempts: %v", err)
	}
	if n, a := len(api.Tasks()), api.TaskAttempts(); n != 1 || a != 3 {
		t.Errorf("%d tasks after %d attempts, want 1 after 3", n, a)
	}
	// A refused call does not use up its key.
	api.FailNextTasks(http.StatusForbidden)
	err := c.Task(t.Context(), org, tasking.TaskRequest{SID: sid, Commands: []string{"os_version"}, IdempotencyKey: "k2"})
	if !errors.Is(err, tasking.ErrForbidden) || !strings.Contains(err.Error(), "refused by the stub") {
		t.Fatalf("task refused with 403 = %v", err)
	}
	if err := c.Task(t.Context(), org, tasking.TaskRequest{SID: sid, Commands: []string{"os_version"}, IdempotencyKey: "k2"}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.Tasks()); n != 2 {
		t.Errorf("%d tasks, want 2", n)
	}
}

func TestRules(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "hive"
		var opts []tasking.Option
		if legacy {
			name = "legacy"
			opts = append(opts, tasking.WithLegacyRules())
		}
		t.Run(name, func(t *testing.T) {
			api := stubapi.New(t)
			c := client(api, opts...)
			ctx := t.Context()
			rule := tasking.Rule{Name: "r1", Namespace: "managed", Enabled: true,
				Detect: json.RawMessage(`{"op":"exists","path":"event"}`), Respond: json.RawMessage(`[{"action":"report","name":"x"}]`)}
			other := tasking.Rule{Name: "r2", Namespace: "general", Detect: json.RawMessage(`{}`), Respond: json.RawMessage(`[]`)}
			for _, r := range []tasking.Rule{rule, other} {
				if err := c.PutRule(ctx, org, r); err != nil {
					t.Fatal(err)
				}
			}
			if names := api.RuleNames(); !slices.Equal(names, []string{"general/r2", "managed/r1"}) {
				t.Fatalf("RuleNames = %q", names)
			}
			got, ok := api.Rule("managed", "r1")
			if !ok || string(got.Detect) != string(rule.Detect) || string(got.Respond) != string(rule.Respond) || !got.Enabled {
				t.Errorf("Rule = %+v, %v", got, ok)
			}
			if r, _ := api.Rule("general", "r2"); r.Enabled {
				t.Error("a rule stored disabled reads back enabled")
			}
			listed, err := c.ListRules(ctx, org, "managed")
			if err != nil {
				t.Fatal(err)
			}
			if r := listed["r1"]; len(listed) != 1 || string(r.Detect) != string(rule.Detect) || !r.Enabled || r.Namespace != "managed" {
				t.Errorf("ListRules(managed) = %+v", listed)
			}
			if err := c.DeleteRule(ctx, org, "managed", "r1"); err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteRule(ctx, org, "managed", "r1"); !errors.Is(err, tasking.ErrNotFound) {
				t.Errorf("deleting a rule not stored = %v, want ErrNotFound", err)
			}
			if _, ok := api.Rule("managed", "r1"); ok {
				t.Error("the deleted rule is still stored")
			}
			want := []string{"POST managed/r1", "POST general/r2", "GET managed", "DELETE managed/r1", "DELETE managed/r1"}
			if calls := api.RuleCalls(); !slices.Equal(calls, want) {
				t.Errorf("RuleCalls = %q, want %q", calls, want)
			}
		})
	}
}

func TestFailNextRules(t *testing.T) {
	api := stubapi.New(t)
	c := client(api)
	rule := tasking.Rule{Name: "r", Namespace: "managed", Detect: json.RawMessage(`{}`), Respond: json.RawMessage(`[]`)}
	api.FailNextRules(500, 500, 500, 500)
	if err := c.PutRule(t.Context(), org, rule); !errors.Is(err, tasking.ErrServer) {
		t.Fatalf("put refused four times = %v, want ErrServer", err)
	}
	if names := api.RuleNames(); len(names) != 0 {
		t.Fatalf("a refused put stored %q", names)
	}
	if err := c.PutRule(t.Context(), org, rule); err != nil {
		t.Fatal(err)
	}
	if n := len(api.RuleCalls()); n != 5 {
		t.Errorf("%d rule calls, want 5: four refused, one stored", n)
	}
}

func TestDeleteRuleOutOfBand(t *testing.T) {
	api := stubapi.New(t)
	rule := tasking.Rule{Name: "r", Namespace: "managed", Detect: json.RawMessage(`{}`), Respond: json.RawMessage(`[]`)}
	if err := client(api).PutRule(t.Context(), org, rule); err != nil {
		t.Fatal(err)
	}
	if !api.DeleteRule("managed", "r") || api.DeleteRule("managed", "r") {
		t.Error("DeleteRule: want true for the stored rule, then false")
	}
	if n := len(api.RuleCalls()); n != 1 {
		t.Errorf("%d rule calls, want 1: DeleteRule is not a call", n)
	}
}

func TestOtherCallsAre404(t *testing.T) {
	api := stubapi.New(t)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/" + sid},
		{http.MethodPost, "/v1/hive/secret/" + org.ID + "/x/data"},
		{http.MethodPost, "/v1/hive/dr-managed/" + org.ID + "/x"},
		{http.MethodPost, "/v1/rules/" + org.ID}, // no name or namespace
		{http.MethodGet, "/v1/orgs/" + org.ID},
		{http.MethodGet, "/"},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, api.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not served by the stub API") {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
	if len(api.Tasks()) != 0 || api.TaskAttempts() != 0 || len(api.RuleCalls()) != 0 {
		t.Error("a call the stub does not serve was recorded")
	}
}
