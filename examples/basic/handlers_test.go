package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/service"
)

// mids gives each delivered message its own id, as the cloud does.
var mids atomic.Int64

func deliver(t *testing.T, svc *service.Service, etype string, data any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": "11111111-2222-3333-4444-555555555555", "mid": fmt.Sprint("m", mids.Add(1)),
		"deadline": time.Now().Add(time.Minute).Unix(), "jwt": "j", "etype": etype, "data": data,
	})
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set(service.SignatureHeader, service.Sign([]byte("s"), body))
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	return out
}

func TestDetectionOpensJob(t *testing.T) {
	var logs bytes.Buffer
	svc, err := newService("s", service.WithLogOutput(&logs, &logs))
	if err != nil {
		t.Fatal(err)
	}
	routing := map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "hostname": "web-1"}
	payload := map[string]any{"FILE_PATH": `C:\temp\mimikatz.exe`}
	for shape, detect := range map[string]any{
		"documented": payload,                                              // detect is the event
		"nested":     map[string]any{"event": payload, "routing": routing}, // an older shape
	} {
		out := deliver(t, svc, "detection", map[string]any{"cat": detectionName, "source": "dr-general", "routing": routing, "detect": detect})
		jobs, _ := out["jobs"].([]any)
		if out["success"] != true || len(jobs) != 1 {
			t.Fatalf("%s detection answered %v", shape, out)
		}
		j := jobs[0].(map[string]any)
		hist, _ := j["hist"].([]any)
		if !strings.Contains(j["cause"].(string), "web-1") || j["end"] == nil || len(hist) != 1 ||
			!strings.Contains(hist[0].(map[string]any)["msg"].(string), `C:\temp\mimikatz.exe`) {
			t.Errorf("%s detection: job = %v", shape, j)
		}
	}
	// Other detections are acknowledged without a job.
	out := deliver(t, svc, "detection", map[string]any{"cat": "other"})
	if out["success"] != true || out["jobs"] != nil {
		t.Errorf("unrelated detection answered %v", out)
	}
	// Daily tick and install/uninstall succeed.
	for _, e := range []string{"org_per_24h", "org_install", "org_uninstall"} {
		if out := deliver(t, svc, e, map[string]any{}); out["success"] != true {
			t.Errorf("%s answered %v", e, out)
		}
	}
}

func TestNewServiceNeedsSecret(t *testing.T) {
	if _, err := newService(""); err == nil || !strings.Contains(err.Error(), "LC_SHARED_SECRET") {
		t.Errorf("empty secret: %v", err)
	}
}
