package service

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lcsvc/lcservice/internal/ratelog"
)

func TestSignatureRefusals(t *testing.T) {
	svc, _, _ := newTestService(t)
	called := false
	svc.OnOrgInstall(func(context.Context, *Request) Response { called = true; return OK(nil) })
	other := mustJSON(t, envelopeFor(OrgUninstall, nil))
	cases := []struct {
		name       string
		sig        func(body []byte) string
		wantStatus int
	}{
		{"valid", func(b []byte) string { return Sign([]byte(testSecret), b) }, 200},
		{"uppercase hex", func(b []byte) string { return strings.ToUpper(Sign([]byte(testSecret), b)) }, 200},
		{"missing", func([]byte) string { return "" }, 401},
		{"wrong secret", func(b []byte) string { return Sign([]byte("other"), b) }, 401},
		{"over another body", func([]byte) string { return Sign([]byte(testSecret), other) }, 401},
		{"truncated", func(b []byte) string { s := Sign([]byte(testSecret), b); return s[:len(s)-2] }, 401},
		{"extended", func(b []byte) string { return Sign([]byte(testSecret), b) + "00" }, 401},
		{"not hex", func([]byte) string { return strings.Repeat("zz", 32) }, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called = false
			body := mustJSON(t, envelopeFor(OrgInstall, nil)) // a message of its own
			res := postRaw(t, svc, body, c.sig(body))
			if res.Status != c.wantStatus {
				t.Fatalf("status %d, want %d", res.Status, c.wantStatus)
			}
			if called != (c.wantStatus == 200) {
				t.Errorf("handler called = %v", called)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
	if n := svc.Stats().Refused; n != 6 {
		t.Errorf("%d refusals counted, want 6", n)
	}
}

func TestBadBodies(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxBodyBytes(1024))
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	big := mustJSON(t, envelopeFor(OrgInstall, map[string]string{"pad": strings.Repeat("x", 2000)}))
	for _, c := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"not json", []byte("hello"), 400},
		{"json array", []byte(`[1,2]`), 400},
		{"json string", []byte(`"x"`), 400},
		{"wrong field type", []byte(`{"version":"one","etype":"org_install"}`), 400},
		{"truncated json", []byte(`{"etype":`), 400},
		{"too large", big, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := postRaw(t, svc, c.body, Sign([]byte(testSecret), c.body))
			if res.Status != c.status {
				t.Errorf("status %d, want %d", res.Status, c.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
	// The body limit is checked before the signature: a huge body with a
	// wrong signature is 413; without one, it is 401, and never read.
	if res := postRaw(t, svc, big, "00"); res.Status != 413 {
		t.Errorf("oversized body, wrong signature: %d", res.Status)
	}
	if res := postRaw(t, svc, big, ""); res.Status != 401 || res.Header.Get("Connection") != "close" {
		t.Errorf("unsigned oversized body: %d, Connection %q", res.Status, res.Header.Get("Connection"))
	}
}

func TestLivenessAndRouting(t *testing.T) {
	svc, _, _ := newTestService(t)
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("/healthz: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /: %d", rec.Code)
	}
	// Webhooks are accepted on any path.
	body := mustJSON(t, envelopeFor(Health, nil))
	req := httptest.NewRequest(http.MethodPost, "/some/deep/path", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"success":true`) {
		t.Errorf("POST deep path: %d %s", rec.Code, rec.Body.String())
	}
}

func TestEmptySecret(t *testing.T) {
	if _, err := New("x", ""); err == nil || !strings.Contains(err.Error(), "WithInsecureNoSecret") {
		t.Fatalf("empty secret: %v", err)
	}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	svc, err := New("x", "", WithInsecureNoSecret(), WithLogOutput(out, errOut))
	if err != nil {
		t.Fatal(err)
	}
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	if res := postRaw(t, svc, mustJSON(t, envelopeFor(OrgInstall, nil)), ""); !res.Success {
		t.Errorf("insecure service refused an unsigned call: %+v", res)
	}
	if !strings.Contains(errOut.String(), `"severity":"CRITICAL"`) || !strings.Contains(errOut.String(), "WITHOUT signature verification") {
		t.Errorf("no critical line at start: %q", errOut.String())
	}
}

func TestNewRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "Upper", "has space", "-lead", strings.Repeat("a", 64)} {
		if _, err := New(name, "s"); err == nil {
			t.Errorf("New(%q) accepted", name)
		}
	}
	if _, err := New("ok", "s", WithMaxBodyBytes(0)); err == nil {
		t.Error("zero body limit accepted")
	}
}

// The gate is about time: in a synctest bubble (no sockets) the 100
// refusals arrive at one instant and the interval passes in virtual time.
// Without the gate (refusedLog in serveWebhook), this fails with "101
// lines holding back 99 ...".
func TestRefusalsLoggedSparingly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, out, errOut := newTestService(t)
		svc.refusedLog = ratelog.Gate{Interval: 300 * time.Millisecond}
		body := mustJSON(t, envelopeFor(OrgInstall, nil))
		for range 100 {
			if res := postRaw(t, svc, body, "00"); res.Status != 401 {
				t.Fatalf("status %d", res.Status)
			}
		}
		time.Sleep(300 * time.Millisecond) // virtual time: the gate's interval passes
		postRaw(t, svc, body, "00")
		if svc.Stats().Refused != 101 {
			t.Errorf("stats: %+v", svc.Stats())
		}
		// Each line says how many were held back before it: lines plus
		// held-back counts make up every refusal.
		var lines, held int
		for _, l := range strings.Split(out.String()+errOut.String(), "\n") {
			if !strings.Contains(l, "webhook refused") {
				continue
			}
			var rec struct{ Suppressed int }
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatal(err)
			}
			lines++
			held += rec.Suppressed
		}
		// One line for the burst, one after the interval saying 99 were
		// held back.
		if lines != 2 || held != 99 {
			t.Errorf("%d lines holding back %d for 101 refusals in two bursts; want 2 lines holding back 99", lines, held)
		}
	})
}
