package interactive

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

// replyBody is a signed detection webhook carrying a reply for handler "h",
// with a realistic payload (an os_packages answer of 300 packages), in
// the detection shape build makes.
func replyBody(b *testing.B, build func(investigationID, eventType string, payload any) map[string]any) []byte {
	codec, err := token.NewCodec("itest", []byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	inv, err := codec.Encode(token.Token{ID: uuid.New(), Handler: "h", JobID: uuid.NewString(), Expiry: time.Now().Add(time.Hour)}, testOID, testSID)
	if err != nil {
		b.Fatal(err)
	}
	pkgs := make([]map[string]string, 300)
	for i := range pkgs {
		pkgs[i] = map[string]string{"PACKAGE_NAME": "package-name", "PACKAGE_VERSION": "1.2.3-4ubuntu5"}
	}
	det := build(inv, "OS_PACKAGES_REP", map[string]any{"PACKAGES": pkgs})
	body, _ := json.Marshal(map[string]any{
		"version": 1, "oid": testOID, "mid": benchMID, "jwt": testJWT,
		"deadline": time.Now().Add(time.Hour).Unix(), "etype": "detection", "data": det,
	})
	return body
}

// benchMID is the mid of the benchmark body, rewritten for every
// iteration so that each is a new message (none is answered from the
// de-duplication cache); the body is signed again each time, in both
// benchmarks.
const benchMID = "mid-0000000000"

func serveLoop(b *testing.B, h http.Handler, body []byte) {
	mid := bytes.Index(body, []byte(benchMID))
	if mid < 0 {
		b.Fatal("no mid placeholder")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	n := 0
	for b.Loop() {
		n++
		for i, m := mid+len(benchMID)-1, n; i >= mid+len("mid-"); i-- {
			body[i] = byte('0' + m%10)
			m /= 10
		}
		sig := service.Sign([]byte(testSecret), body)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(service.SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRouteReply is a reply's whole path: signature, envelope,
// detection routing, token verification, named handler, job in the
// response; for the detection stream's shape and for the nested one.
func BenchmarkRouteReply(b *testing.B) {
	for name, build := range map[string]func(string, string, any) map[string]any{"documented": detection, "nested": nestedDetection} {
		b.Run(name, func(b *testing.B) {
			is, err := New("itest", testSecret, WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
			if err != nil {
				b.Fatal(err)
			}
			defer is.Shutdown(context.Background())
			is.HandleReply("h", func(_ context.Context, r *Reply) service.Response {
				r.Job.Narrate("seen", false)
				return service.OK(nil)
			})
			serveLoop(b, is, replyBody(b, build))
			if is.Stats().RoutedNamed == 0 {
				b.Fatal("replies were not routed")
			}
		})
	}
}

// BenchmarkBareDetection reads the same body and answers a fixed response:
// the floor the routing path is compared with.
func BenchmarkBareDetection(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"retry":false,"data":{}}`)
	})
	serveLoop(b, h, replyBody(b, detection))
}
