package lctest

import (
	"github.com/lcsvc/lcservice/internal/bubble"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestCloseLeavesNoGoroutines runs the cloud through every kind of
// background work, leaves some of it pending, and checks that Close
// leaves no goroutine behind. It runs in a synctest bubble, on an
// in-memory network (a goroutine reading a real socket is never durably
// blocked): synctest.Wait returns once every other goroutine of the bubble
// has exited or is blocked for good, so what is left then is exactly what
// was left behind.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := bubble.Goroutines(t)
		start := time.Now() // the bubble's clock
		mem := newMemNet()

		f := &fakeService{secret: []byte("k"), subs: []string{"__svc-svc-ex"}}
		srv := httptest.NewUnstartedServer(f)
		srv.Listener.Close()
		srv.Listener = mem.listen()
		srv.Start()
		c := NewCloud(WithListener(mem.listen()))
		c.client.Transport.(*http.Transport).DialContext = mem.dial // webhooks by URL
		a := &restClient{t: t, base: c.URL(), client: &http.Client{Transport: &http.Transport{DialContext: mem.dial}}}
		org := c.NewOrg("acme")
		fast := org.AddSensor(SensorConfig{})
		slow := org.AddSensor(SensorConfig{Latency: time.Hour})
		svc, err := c.Register(testContext(t), ServiceConfig{Name: "svc", Secret: "k", URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		installWithRule(t, a, svc, org)
		a.task(org, fast.SID, "svc-svc-ex/a", "history_dump")
		waitIdle(t, c)
		a.task(org, slow.SID, "svc-svc-ex/b", "os_version", "os_users") // still pending at Close
		if len(svc.Detections()) == 0 {
			t.Fatal("no detection delivered")
		}
		if elapsed := time.Since(start); elapsed >= slow.Latency() {
			t.Fatalf("the bubble's clock moved %v: the slow sensor's task is not pending at Close", elapsed)
		}

		c.Close()
		srv.Close()
		a.client.CloseIdleConnections()

		synctest.Wait()
		if left := bubble.StartedSince(t, before); len(left) > 0 {
			t.Fatalf("%d goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
	})
}

func TestWithListenerServesOnTheGivenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCloud(WithListener(ln))
	if c.URL() != "http://"+ln.Addr().String() {
		t.Errorf("URL = %s, listener %s", c.URL(), ln.Addr())
	}
	resp, err := http.Get(c.URL() + "/v1/rules/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated call: %d", resp.StatusCode)
	}
	c.Close()
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open after Close")
	}
}
