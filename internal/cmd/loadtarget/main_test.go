package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

const (
	testSecret = "loadtarget-secret"
	testOID    = "11111111-2222-3333-4444-555555555555"
	testSID    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

// replyWebhook is a signed reply to a task of handler "load", as lcsim
// load sends it, whose packages are pkgs (raw JSON).
func replyWebhook(t *testing.T, pkgs string) (body []byte, sig string) {
	codec, err := token.NewCodec("load", []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := codec.Encode(token.Token{ID: uuid.New(), Handler: "load", Expiry: time.Now().Add(time.Hour)}, testOID, testSID)
	if err != nil {
		t.Fatal(err)
	}
	body, err = json.Marshal(map[string]any{
		"version": 1, "oid": testOID, "mid": uuid.NewString(), "jwt": "jwt", "etype": "detection",
		"deadline": time.Now().Add(time.Minute).Unix(),
		"data": map[string]any{
			"routing": map[string]any{"oid": testOID, "sid": testSID, "event_type": "OS_PACKAGES_REP", "investigation_id": inv},
			"detect":  json.RawMessage(`{"PACKAGES":` + pkgs + `}`),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body, service.Sign([]byte(testSecret), body)
}

func post(t *testing.T, h http.Handler, body []byte, sig string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(service.SignatureHeader, sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestModesAnswerReplies(t *testing.T) {
	good := `[{"PACKAGE_NAME":"curl","PACKAGE_VERSION":"8.5"}]`
	for _, mode := range []string{"bare", "lcservice", "lcservice-decode"} {
		t.Run(mode, func(t *testing.T) {
			h, err := target(mode, "load", "load", testSecret)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := h.(interface{ Shutdown(context.Context) error }); ok {
				defer s.Shutdown(context.Background())
			}
			body, sig := replyWebhook(t, good)
			if code, out := post(t, h, body, sig); code != 200 || !strings.Contains(out, `"success":true`) {
				t.Errorf("reply answered %d %s", code, out)
			}
			if code, _ := post(t, h, body, strings.Repeat("0", 64)); code != http.StatusUnauthorized {
				t.Errorf("forged signature answered %d, want 401", code)
			}
		})
	}
}

// TestDecodeModeDecodes checks that lcservice-decode decodes the
// packages: packages of the wrong type fail the webhook, which
// lcservice alone does not look at.
func TestDecodeModeDecodes(t *testing.T) {
	body, sig := replyWebhook(t, `[{"PACKAGE_NAME":1}]`)
	for mode, want := range map[string]bool{"lcservice": true, "lcservice-decode": false} {
		h, err := target(mode, "load", "load", testSecret)
		if err != nil {
			t.Fatal(err)
		}
		_, out := post(t, h, body, sig)
		var res struct{ Success bool }
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Success != want {
			t.Errorf("%s: answered %s, want success %v", mode, out, want)
		}
	}
}

func TestUnknownMode(t *testing.T) {
	if _, err := target("fast", "load", "load", testSecret); err == nil || !strings.Contains(err.Error(), "use bare") {
		t.Errorf("target(fast) = %v", err)
	}
	if err := run(context.Background(), []string{"-secret", ""}); err == nil || !strings.Contains(err.Error(), "no shared secret") {
		t.Errorf("run without a secret = %v", err)
	}
}
