package main

// Faults of the LimaCharlie API, seen from outside: the example is built
// and run as its own process against a fake API that fails.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/examples/internal/exampletest"
	"github.com/lcsvc/lcservice/service"
)

// surveyRequest posts a signed request for a survey of one sensor, with a
// deadline, and returns the answer and when it came.
func surveyRequest(t *testing.T, url string, deadline time.Time) (answer struct {
	Success, Retry bool
	Error          string
}, at time.Time) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": "11111111-2222-3333-4444-555555555555", "mid": "fault-" + t.Name(), "jwt": "jwt",
		"deadline": deadline.Unix(), "etype": "request", "data": map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
	})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set(service.SignatureHeader, service.Sign([]byte(blackBoxSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return answer, time.Now()
}

func TestTransientAPIFailuresAnswerRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example binary; the hung API case takes about 12 s")
	}
	t.Run("503", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		}))
		defer api.Close()
		url := exampletest.Start(t, "LC_SHARED_SECRET="+blackBoxSecret, "LC_API_URL="+api.URL)
		deadline := time.Now().Add(590 * time.Second)
		answer, at := surveyRequest(t, url, deadline)
		if answer.Success || !answer.Retry {
			t.Errorf("answer %+v; want retry", answer)
		}
		if !at.Before(deadline) || calls.Load() < 2 {
			t.Errorf("answered %v before the deadline after %d API calls", deadline.Sub(at), calls.Load())
		}
	})
	t.Run("hung", func(t *testing.T) {
		t.Parallel()
		hung := make(chan struct{})
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hung:
			case <-r.Context().Done():
			}
		}))
		defer api.Close()
		defer close(hung)
		url := exampletest.Start(t, "LC_SHARED_SECRET="+blackBoxSecret, "LC_API_URL="+api.URL)
		// The cloud's deadline is 590 s away; a shorter one keeps the test
		// short and still leaves the service a 12 s reserve.
		deadline := time.Now().Add(24 * time.Second)
		answer, at := surveyRequest(t, url, deadline)
		if answer.Success || !answer.Retry {
			t.Errorf("answer %+v; want retry", answer)
		}
		if left := deadline.Sub(at); left < 10*time.Second {
			t.Errorf("answered with %v of the deadline left, want at least 10 s", left)
		} else {
			t.Logf("answered with %v of the deadline left", left.Round(time.Millisecond))
		}
	})
}
