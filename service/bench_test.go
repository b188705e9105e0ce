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
// (signature, envelope, params, de-duplication, dispatch, response
// encoding). Every iteration is a new message (its own mid, signed again
// in both benchmarks), so no answer comes from the de-duplication cache.
func benchmarkHandler(b *testing.B, h http.Handler, body []byte) {
	body = bytes.Clone(body)
	mid := bytes.Index(body, []byte(benchMID))
	if mid < 0 {
		b.Fatal("no mid placeholder in the body")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	n := 0
	for b.Loop() {
		n++
		nextMID(body[mid:mid+len(benchMID)], n)
		sig := Sign([]byte(testSecret), body)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// benchMID is the mid of benchmark bodies, rewritten in place (nextMID)
// for every iteration.
const benchMID = "mid-0000000000"

// nextMID writes n into the digits of a benchMID-shaped mid.
func nextMID(mid []byte, n int) {
	for i := len(mid) - 1; i >= len("mid-"); i-- {
		mid[i] = byte('0' + n%10)
		n /= 10
	}
}

func benchBody(b *testing.B) []byte {
	env := envelopeFor(RequestEvent, map[string]any{"sid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "n": 5})
	env["mid"] = benchMID
	return mustJSONB(b, env)
}

func BenchmarkWebhook(b *testing.B) {
	svc, err := New("bench", testSecret, WithLogOutput(io.Discard, io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	svc.SetRequestParams(Params{"sid": {Type: ParamSID, Required: true}, "n": {Type: ParamInt}})
	svc.OnRequest(func(context.Context, *Request) Response { return OK(map[string]bool{"ok": true}) })
	benchmarkHandler(b, svc, benchBody(b))
}

func BenchmarkBareHandler(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"retry":false,"data":{"ok":true}}`)
	})
	benchmarkHandler(b, h, benchBody(b))
}

func mustJSONB(b *testing.B, v any) []byte {
	b.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
