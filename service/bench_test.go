package service

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The webhook path is measured against a bare handler that only reads the
// body and writes a fixed answer: the ratio is the framework's overhead
// (signature, envelope, params, dispatch, response encoding).
func benchmarkHandler(b *testing.B, h http.Handler, body []byte, sig string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func benchBody(b *testing.B) []byte {
	body := mustJSONB(b, envelopeFor(RequestEvent, map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "n": 5}))
	return body
}

func BenchmarkWebhook(b *testing.B) {
	svc, err := New("bench", testSecret, WithLogOutput(io.Discard, io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	svc.SetRequestParams(Params{"sid": {Type: ParamSID, Required: true}, "n": {Type: ParamInt}})
	svc.OnRequest(func(context.Context, *Request) Response { return OK(map[string]bool{"ok": true}) })
	body := benchBody(b)
	benchmarkHandler(b, svc, body, Sign([]byte(testSecret), body))
}

func BenchmarkBareHandler(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"retry":false,"data":{"ok":true}}`)
	})
	body := benchBody(b)
	benchmarkHandler(b, h, body, "")
}

func mustJSONB(b *testing.B, v any) []byte {
	b.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
