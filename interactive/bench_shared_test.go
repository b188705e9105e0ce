package interactive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/internal/redistest"
	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// BenchmarkReplyPathStore is the reply path of a pending task — signature,
// envelope, routing, token, resolving the task in the pending store, a
// named handler that narrates on the task's job, the job in the response
// — with the in-memory store and with Redis (the real server make bench
// starts; miniredis, much slower, when LCSERVICE_TEST_REDIS_URL is unset).
// With Redis, each webhook also goes through the shared de-duplication
// store and the organization's queue of job updates. The body is a 2.8 KB
// answer of 25 packages.
//
// redis-relayed is the same reply for a closure another replica holds: it
// is handed to that replica, which runs the closure and sends the response
// back, all through Redis.
func BenchmarkReplyPathStore(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchReplyPath(b, "", false) })
	url := redistest.ServerURL()
	kind := "redis"
	if url == "" {
		b.Logf("%s is not set: measuring miniredis, not a real Redis", redistest.URLEnv)
		kind = "miniredis"
		_, url = redistest.Mini(b)
	}
	b.Run(kind, func(b *testing.B) { benchReplyPath(b, url, false) })
	b.Run(kind+"-relayed", func(b *testing.B) { benchReplyPath(b, url, true) })
}

// benchReplyPath measures replies served by one process; relayed, the
// tasks are another process's closures.
func benchReplyPath(b *testing.B, redisURL string, relayed bool) {
	name := uniqueName()
	if redisURL != "" {
		dropKeysAtCleanup(b, redisURL, name)
	}
	process := func() *Service {
		is, err := New(name, testSecret, WithRedisURL(redisURL), WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard)))
		if err != nil {
			b.Fatal(err)
		}
		is.HandleReply("h", func(_ context.Context, r *Reply) service.Response {
			r.Job.Narrate("seen", false)
			return service.OK(nil)
		})
		return is
	}
	is := process()
	defer is.Shutdown(context.Background())
	owner, then := is, ReplyHandler(nil)
	if relayed {
		owner = process()
		defer owner.Shutdown(context.Background())
		then = func(_ context.Context, r *Reply) service.Response {
			r.Job.Narrate("seen", false)
			return service.OK(nil)
		}
	}
	codec, err := token.NewCodec(name, []byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	pkgs := make([]map[string]string, 25)
	for i := range pkgs {
		pkgs[i] = map[string]string{"PACKAGE_NAME": fmt.Sprintf("package-%02d", i), "PACKAGE_VERSION": "1.2.3-4ubuntu5"}
	}
	payload := map[string]any{"PACKAGES": pkgs}
	ctx := context.Background()
	jobID := uuid.NewString()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := uuid.New()
		expires := time.Now().Add(time.Hour)
		inv, err := codec.Encode(token.Token{ID: id, Handler: "h", JobID: jobID, Expiry: expires}, testOID, testSID)
		if err != nil {
			b.Fatal(err)
		}
		c := newContinuation("h", testOID, testSID, "os_packages", jobID, nil)
		c.then = then
		err = owner.pending.Add(ctx, tracking.Entry[*continuation]{ID: id.String(), Expires: expires, Value: c})
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{
			"version": 1, "oid": testOID, "mid": id.String(), "jwt": testJWT,
			"deadline": time.Now().Add(time.Hour).Unix(), "etype": "detection",
			"data": detection(inv, "OS_PACKAGES_REP", payload),
		})
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(service.SignatureHeader, service.Sign([]byte(testSecret), body))
		rec := httptest.NewRecorder()
		b.StartTimer()
		is.ServeHTTP(rec, req)
		if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte(`"seen"`)) {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	b.StopTimer()
	st := is.Stats()
	if routed := st.RoutedNamed + st.RoutedRelayed; routed != int64(b.N) || relayed != (st.RoutedRelayed > 0) {
		b.Fatalf("%d replies routed to the named handler, %d relayed; want %d in all, relayed %v", st.RoutedNamed, st.RoutedRelayed, b.N, relayed)
	}
}
