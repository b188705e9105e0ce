package interactive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/stubapi"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// harness is one service process: the base service, its interactive layer,
// served over real HTTP.
type harness struct {
	t   *testing.T
	is  *Service
	api *stubapi.API
	url string
	log *lockedWriter
}

func newHarness(t *testing.T, api *stubapi.API, setup func(*Service), opts ...Option) *harness {
	t.Helper()
	return newNamedHarness(t, "itest", api, setup, opts...)
}

// newNamedHarness is newHarness for a service named name.
func newNamedHarness(t *testing.T, name string, api *stubapi.API, setup func(*Service), opts ...Option) *harness {
	t.Helper()
	logs := &lockedWriter{w: &bytes.Buffer{}}
	client := tasking.NewClient(tasking.WithBaseURL(api.URL), tasking.WithRetry(4, time.Millisecond, 5*time.Millisecond))
	is, err := New(name, testSecret, append([]Option{WithServiceOptions(service.WithLogOutput(logs, logs)), WithClient(client)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(is)
	}
	srv := newHTTPServer(t, is)
	t.Cleanup(func() { _ = is.Shutdown(context.WithoutCancel(t.Context())) })
	return &harness{t: t, is: is, api: api, url: srv, log: logs}
}

// result is a decoded webhook response.
type result struct {
	Success bool              `json:"success"`
	Retry   bool              `json:"retry"`
	Error   string            `json:"error"`
	Data    json.RawMessage   `json:"data"`
	Jobs    []json.RawMessage `json:"jobs"`
}

// deliver signs and posts one webhook of organization testOID, as the
// cloud does.
func (h *harness) deliver(etype service.EventType, data any) result {
	h.t.Helper()
	return h.deliverAs(testOID, etype, data)
}

// mids gives each delivered message its own id.
var mids atomic.Int64

// deliverAs is deliver for organization oid.
func (h *harness) deliverAs(oid string, etype service.EventType, data any) result {
	h.t.Helper()
	return h.post(map[string]any{
		"version": 1, "oid": oid, "mid": fmt.Sprint("mid-", mids.Add(1)), "jwt": testJWT,
		"deadline": time.Now().Add(590 * time.Second).Unix(), "etype": string(etype), "data": data,
	})
}

// post signs and posts an envelope.
func (h *harness) post(env map[string]any) result {
	h.t.Helper()
	body, _ := json.Marshal(env)
	req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	req.Header.Set(service.SignatureHeader, service.Sign([]byte(testSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		h.t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return r
}

// stubDetection builds the detection the replicant rule reports for a sensor
// event answering task.
func stubDetection(task stubapi.Task, eventType string, payload any) map[string]any {
	routing := map[string]any{
		"oid": testOID, "sid": task.SID, "hostname": "host-1", "plat": uint32(Linux), "event_type": eventType,
		"event_time": time.Now().UnixMilli(), "event_id": "e1", "investigation_id": task.InvestigationID,
	}
	return map[string]any{
		"cat": token.DetectionName("itest"), "source_rule": token.RuleName("itest"),
		"namespace": "managed", "detect_id": "d1", "gen_time": time.Now().UnixMilli(),
		"routing": routing, "detect": map[string]any{"event": payload, "routing": routing},
	}
}

// jobWire is a job as it travels in a response.
type jobWire struct {
	ID    string   `json:"id"`
	Cause string   `json:"cause"`
	Start int64    `json:"start"`
	End   int64    `json:"end"`
	SIDs  []string `json:"sid"`
	Hist  []struct {
		Msg         string           `json:"msg"`
		Important   bool             `json:"is_important"`
		Attachments []map[string]any `json:"attachments"`
	} `json:"hist"`
}

func (r result) jobs(t *testing.T) []jobWire {
	t.Helper()
	var out []jobWire
	for _, raw := range r.Jobs {
		var j jobWire
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}
