package lctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/lctest"
)

// taskREST tasks sensor sid with the command lines through the REST API,
// as a service does, and fails the test unless the API answers 200.
func taskREST(t *testing.T, c *lctest.Cloud, org *lctest.Org, sid, investigationID string, lines ...string) {
	t.Helper()
	form := url.Values{"tasks": lines, "investigation_id": {investigationID}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.URL()+"/v1/"+sid, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+org.JWT)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("task %q: HTTP %d %s", lines, resp.StatusCode, body)
	}
}

// subscriber is a service that subscribes to the detections cats and
// answers every webhook with success.
func subscriber(cats ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Etype string }
		_ = json.NewDecoder(r.Body).Decode(&env)
		data := map[string]any{}
		if env.Etype == "health" {
			data["mtd"] = map[string]any{"detect_subscriptions": cats}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
	})
}
