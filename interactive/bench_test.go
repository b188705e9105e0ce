package interactive

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

// benchSizes are the body sizes both benchmarks measure, by sub-benchmark
// name: the number of packages of the os_packages answer that makes a
// signed reply webhook of about that size.
var benchSizes = []struct {
	name     string
	packages int
}{
	{"21KB", 300},
	{"1MB", 15500},
}

// benchShapes are the detection shapes RouteReply measures: the detection
// stream's, and the older nested one.
var benchShapes = []struct {
	name  string
	build func(investigationID, eventType string, payload any) map[string]any
}{
	{"documented", detection},
	{"nested", nestedDetection},
}

// replyBody is a signed detection webhook carrying a reply for handler "h",
// with a realistic payload (an os_packages answer of n packages), in the
// detection shape build makes.
func replyBody(b *testing.B, n int, build func(investigationID, eventType string, payload any) map[string]any) []byte {
	codec, err := token.NewCodec("itest", []byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	inv, err := codec.Encode(token.Token{ID: uuid.New(), Handler: "h", JobID: uuid.NewString(), Expiry: time.Now().Add(time.Hour)}, testOID, testSID)
	if err != nil {
		b.Fatal(err)
	}
	pkgs := make([]map[string]string, n)
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
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkRouteReply is a reply's whole path: signature, envelope,
// detection routing, token verification, named handler, job in the
// response; by body size, for the detection stream's shape and for the
// nested one over the service protocol, and over the extension protocol
// as the platform sends it there (the replicant rule's request to the
// reply action, gzip-compressed and signed; compressing it is the
// platform's work, left out of the time). Compare each size with
// BenchmarkBareDetection's.
func BenchmarkRouteReply(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			for _, shape := range benchShapes {
				b.Run(shape.name, func(b *testing.B) {
					is, err := New("itest", testSecret, WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
					if err != nil {
						b.Fatal(err)
					}
					defer is.Shutdown(context.Background())
					is.HandleReply("h", func(_ context.Context, r *Reply) service.Response {
						r.Job.Narrate("seen", false)
						return service.OK(nil)
					})
					serveLoop(b, is, replyBody(b, size.packages, shape.build))
					if is.Stats().RoutedNamed == 0 {
						b.Fatal("replies were not routed")
					}
				})
			}
			b.Run("extension", func(b *testing.B) {
				is, err := New("itest", testSecret, WithServiceOptions(extension.Serve(), service.WithLogOutput(io.Discard, io.Discard)))
				if err != nil {
					b.Fatal(err)
				}
				defer is.Shutdown(context.Background())
				is.HandleReply("h", func(_ context.Context, r *Reply) service.Response {
					r.Job.Narrate("seen", false)
					return service.OK(nil)
				})
				serveExtensionLoop(b, is, extensionReplyBody(b, size.packages))
				if is.Stats().RoutedNamed == 0 {
					b.Fatal("replies were not routed")
				}
			})
		})
	}
}

// extensionReplyBody is the extension request the replicant rule makes of
// the same reply as replyBody's: the reply action with the event and its
// routing, keyed by benchMID.
func extensionReplyBody(b *testing.B, n int) []byte {
	det := replyBody(b, n, detection)
	var env struct {
		Data struct {
			Detect  json.RawMessage `json:"detect"`
			Routing json.RawMessage `json:"routing"`
		} `json:"data"`
	}
	if err := json.Unmarshal(det, &env); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"version": extension.ProtocolVersion, "idempotency_key": benchMID,
		"request": map[string]any{
			"org":    map[string]any{"oid": testOID, "jwt": testJWT},
			"action": ReplyAction,
			"data":   map[string]any{"event": env.Data.Detect, "routing": env.Data.Routing},
		},
	})
	return body
}

// serveExtensionLoop is serveLoop for the extension protocol: each
// iteration a new idempotency key, the body signed, then gzipped (not
// timed).
func serveExtensionLoop(b *testing.B, h http.Handler, body []byte) {
	key := bytes.Index(body, []byte(benchMID))
	if key < 0 {
		b.Fatal("no key placeholder")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	n := 0
	for b.Loop() {
		n++
		for i, m := key+len(benchMID)-1, n; i >= key+len("mid-"); i-- {
			body[i] = byte('0' + m%10)
			m /= 10
		}
		sig := service.Sign([]byte(testSecret), body)
		b.StopTimer()
		zipped.Reset()
		zw.Reset(&zipped)
		_, _ = zw.Write(body)
		_ = zw.Close()
		b.StartTimer()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(zipped.Bytes()))
		req.Header.Set(extension.SignatureHeader, sig)
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkBareDetection is the floor every correct webhook pays: it reads
// the same bodies as BenchmarkRouteReply, verifies their signature and
// answers a fixed response.
func BenchmarkBareDetection(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !hmac.Equal([]byte(r.Header.Get(service.SignatureHeader)), []byte(service.Sign([]byte(testSecret), body))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"retry":false,"data":{}}`)
	})
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			serveLoop(b, h, replyBody(b, size.packages, detection))
		})
	}
}
