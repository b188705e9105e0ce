package lctest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

// TestCloseLeavesNoGoroutines runs the cloud through every kind of
// background work, leaves some of it pending, and checks that Close
// returns the process to its goroutine count.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()

	f := &fakeService{secret: []byte("k"), subs: []string{"__svc-svc-ex"}}
	srv := httptest.NewServer(f)
	c := NewCloud()
	a := newAPI(t, c)
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

	c.Close()
	srv.Close()
	a.client.CloseIdleConnections()

	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling the count; nothing to wait on
	}
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
