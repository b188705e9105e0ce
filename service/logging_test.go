package service

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogLineShape(t *testing.T) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	l := slog.New(NewLogHandler("svc-a", out, errOut, slog.LevelInfo))
	l.Info("hello", "k", 1)
	l.Debug("hidden")
	l.Error("bad", "err", "x")
	l.Log(context.Background(), LevelCritical, "worse")

	lines := func(s string) []map[string]any {
		var ms []map[string]any
		sc := bufio.NewScanner(strings.NewReader(s))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			ms = append(ms, m)
		}
		return ms
	}
	o, e := lines(out.String()), lines(errOut.String())
	if len(o) != 1 || len(e) != 2 {
		t.Fatalf("stdout %d lines, stderr %d lines:\n%s\n%s", len(o), len(e), out, errOut)
	}
	info := o[0]
	ts, _ := info["timestamp"].(map[string]any)
	if info["service"] != "svc-a" || info["severity"] != "INFO" || info["message"] != "hello" || info["k"] != 1.0 ||
		ts["seconds"] == nil || ts["nanos"] == nil {
		t.Errorf("info line = %v", info)
	}
	for _, k := range []string{"time", "level", "msg"} {
		if _, ok := info[k]; ok {
			t.Errorf("slog key %q leaked: %v", k, info)
		}
	}
	if e[0]["severity"] != "ERROR" || e[1]["severity"] != "CRITICAL" {
		t.Errorf("stderr lines = %v", e)
	}
}

func TestTraceRedactsJWT(t *testing.T) {
	svc, out, _ := newTestService(t, WithTrace())
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(map[string]int{"n": 1}) })
	postSigned(t, svc, envelopeFor(OrgInstall, nil))
	logs := out.String()
	if strings.Contains(logs, "header.payload.signature") {
		t.Fatalf("JWT logged: %s", logs)
	}
	if !strings.Contains(logs, "[redacted]") || !strings.Contains(logs, "webhook answered") || !strings.Contains(logs, `"n":1`) {
		t.Errorf("trace lines missing: %s", logs)
	}
}

func TestJWTNeverLoggedWithoutTrace(t *testing.T) {
	svc, out, errOut := newTestService(t)
	svc.OnOrgInstall(func(context.Context, *Request) Response { panic("x") })
	postSigned(t, svc, envelopeFor(OrgInstall, nil))
	if strings.Contains(out.String()+errOut.String(), "header.payload.signature") {
		t.Error("JWT logged")
	}
}
