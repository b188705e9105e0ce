package service

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// unread is a request body that fails the test if anything reads it.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body was read")
	return 0, io.EOF
}

func TestUnsignedRefusedUnread(t *testing.T) {
	svc, _, _ := newTestService(t)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Body = io.NopCloser(unread{t})
	req.ContentLength = 100
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Connection") != "close" {
		t.Errorf("status %d, Connection %q; want 401 and close", rec.Code, rec.Header().Get("Connection"))
	}
	if svc.Stats().Refused != 1 {
		t.Errorf("stats: %+v", svc.Stats())
	}
}

func TestOverLimitContentLengthRefusedUnread(t *testing.T) {
	svc, _, _ := newTestService(t)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Body = io.NopCloser(unread{t})
	req.ContentLength = DefaultMaxBodyBytes + 1
	req.Header.Set(SignatureHeader, "00")
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || rec.Header().Get("Connection") != "close" {
		t.Errorf("status %d, Connection %q; want 413 and close", rec.Code, rec.Header().Get("Connection"))
	}
	if svc.Stats().TooLarge != 1 {
		t.Errorf("stats: %+v", svc.Stats())
	}
}

// chunked hides a reader's length, as a chunked request body does.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestChunkedBodies(t *testing.T) {
	svc, _, _ := newTestService(t, WithMaxBodyBytes(200<<10))
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	post := func(body []byte, sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/", chunked{bytes.NewReader(body)})
		req.ContentLength = -1
		req.Header.Set(SignatureHeader, sig)
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		return rec.Code
	}
	env := envelopeFor(OrgInstall, map[string]string{"pad": strings.Repeat("x", 150<<10)})
	body := mustJSON(t, env)
	if code := post(body, Sign([]byte(testSecret), body)); code != 200 {
		t.Errorf("chunked body under the limit: %d", code)
	}
	big := bytes.Repeat([]byte("x"), 200<<10+1)
	if code := post(big, "00"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d", code)
	}
	if code := post([]byte("[]"), Sign([]byte(testSecret), []byte("[]"))); code != 400 {
		t.Errorf("tiny chunked body: %d", code)
	}
	if held := svc.Stats().BodyBytes; held != 0 {
		t.Errorf("budget still holds %d bytes", held)
	}
}

// The budget's waits are about time: these tests run in a synctest bubble
// (no sockets: the Service's handler is called directly), where time is
// virtual, so the waits are exact and cost no real time.

// Without the wait for room (budgetWait in readKnown), this fails with
// "waited 0s for room, want 1s" and "after room was made: {Status:503 ...".
func TestBudgetFullAnswers503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
		// Fill the budget as stalled uploads would.
		if !svc.budget.acquire(context.Background(), svc.bodyBudget, true, 0) {
			t.Fatal("could not fill the budget")
		}
		start := time.Now()
		res := postSigned(t, svc, envelopeFor(OrgInstall, nil))
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", res.Status, res.Header.Get("Retry-After"))
		}
		if waited := time.Since(start); waited != budgetWait {
			t.Errorf("waited %v for room, want %v", waited, budgetWait)
		}
		// Room made while a body waits lets it through, at once.
		go func() {
			synctest.Wait() // the body below is waiting for room
			svc.budget.release(svc.bodyBudget)
		}()
		start = time.Now()
		if res := postSigned(t, svc, envelopeFor(OrgInstall, nil)); !res.Success {
			t.Errorf("after room was made: %+v", res)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %v after room was made", waited)
		}
		if st := svc.Stats(); st.Busy != 1 || st.BodyBytes != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestBudgetKeepsRoomForSmallBodies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBodyBudget(8 << 20) // 1 MiB kept for small bodies
		ctx := context.Background()
		if !b.acquire(ctx, 7<<20, false, 0) {
			t.Fatal("large body within seven eighths refused")
		}
		if b.acquire(ctx, 128<<10, false, 0) {
			t.Fatal("a large body took the small bodies' share")
		}
		for i := range 16 {
			if !b.acquire(ctx, 64<<10, true, 0) {
				t.Fatalf("small body %d refused with the share free", i)
			}
		}
		if b.acquire(ctx, 1, true, 0) {
			t.Fatal("budget overdrawn")
		}
		got := make(chan bool, 1)
		go func() { got <- b.acquire(ctx, 64<<10, true, time.Minute) }()
		synctest.Wait() // the acquire above has returned or is waiting
		select {
		case ok := <-got:
			t.Fatalf("acquire returned %v with no room, before its wait was over", ok)
		default:
		}
		b.release(64 << 10)
		if !<-got {
			t.Fatal("a waiting body did not get the room released")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if b.acquire(cctx, 64<<10, true, time.Minute) {
			t.Fatal("acquired with a cancelled context and no room")
		}
		if b.inUse() != 8<<20 {
			t.Errorf("in use %d", b.inUse())
		}
	})
}

func TestBufPoolClasses(t *testing.T) {
	p := newBufPool(DefaultMaxBodyBytes)
	for _, c := range []struct{ n, size int64 }{
		{100, 100}, {smallBody, smallBody}, {smallBody + 1, 128 << 10}, {300 << 10, 512 << 10},
		{1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {31<<20 + 5, 32 << 20}, {DefaultMaxBodyBytes, DefaultMaxBodyBytes},
	} {
		if got := p.size(c.n); got != c.size {
			t.Errorf("size(%d) = %d, want %d", c.n, got, c.size)
		}
		b := p.get(c.n)
		if int64(len(b)) != c.n || int64(cap(b)) != c.size {
			t.Errorf("get(%d): len %d cap %d", c.n, len(b), cap(b))
		}
		p.put(b)
	}
	b := p.get(31 << 20)
	b[0] = 7
	p.put(b)
	// A recycled buffer keeps its class; its contents are the caller's to
	// overwrite (bodies are read in full before use).
	if again := p.get(31<<20 + 1); cap(again) != 32<<20 {
		t.Errorf("cap %d", cap(again))
	}
}

func TestSignatureHeadersMustAgree(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })
	body := mustJSON(t, envelopeFor(OrgInstall, nil))
	good := Sign([]byte(testSecret), body)
	bad := Sign([]byte("other"), body)
	for _, c := range []struct {
		name string
		sigs []string
		want int
	}{
		{"one", []string{good}, 200},
		{"two equal", []string{good, strings.ToUpper(good)}, 200},
		{"good then bad", []string{good, bad}, 401},
		{"bad then good", []string{bad, good}, 401},
		{"good then empty", []string{good, ""}, 401},
	} {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header[sigHeaderKey] = c.sigs
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, rec.Code, c.want)
		}
	}
}

func TestNewRefusesBadLimits(t *testing.T) {
	for name, o := range map[string]Option{
		"zero rate":             WithMinBodyRate(0),
		"zero connections":      WithMaxConnections(0),
		"budget below body":     WithBodyBudget(DefaultMaxBodyBytes),
		"zero shutdown":         WithShutdownTimeout(0),
		"drain beyond shutdown": WithDrainDelay(DefaultShutdownTimeout),
		"negative drain":        WithDrainDelay(-time.Second),
	} {
		if _, err := New("x", "s", o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	svc, err := New("x", "s", WithMaxBodyBytes(100<<20))
	if err != nil || svc.bodyBudget != 200<<20 {
		t.Errorf("a 100 MiB body limit: budget %d, %v; want twice the limit", svc.bodyBudget, err)
	}
}
