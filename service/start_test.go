package service

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFailedStartIsRetriedByTheNextWebhook(t *testing.T) {
	svc, _, errLog := newTestService(t)
	var calls [2]atomic.Int32
	svc.OnStartup(func(context.Context) error { calls[0].Add(1); return nil })
	svc.OnStartup(func(context.Context) error {
		if calls[1].Add(1) == 1 {
			return errors.New("database not reachable yet")
		}
		return nil
	})
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })

	res := postSigned(t, svc, envelopeFor(OrgInstall, nil))
	if res.Success || !res.Retry || !strings.Contains(res.Error, "startup hook 2 of 2: database not reachable yet") {
		t.Fatalf("first webhook: %+v; want retry with the hook's error", res)
	}
	if !strings.Contains(errLog.String(), "startup failed") {
		t.Errorf("the failure was not logged: %q", errLog.String())
	}
	if res := postSigned(t, svc, envelopeFor(OrgInstall, nil)); !res.Success {
		t.Fatalf("second webhook: %+v; want the start retried and the handler run", res)
	}
	if res := postSigned(t, svc, envelopeFor(OrgInstall, nil)); !res.Success {
		t.Fatalf("third webhook: %+v", res)
	}
	// The hook that succeeded is not run again; the failed one ran twice.
	if a, b := calls[0].Load(), calls[1].Load(); a != 1 || b != 2 {
		t.Errorf("hooks ran %d and %d times, want 1 and 2", a, b)
	}
}

func TestClientDisconnectDoesNotCancelStart(t *testing.T) {
	svc, _, _ := newTestService(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	var hookErr atomic.Value
	svc.OnStartup(func(ctx context.Context) error {
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			hookErr.Store(ctx.Err())
			return ctx.Err()
		}
	})
	svc.OnOrgInstall(func(context.Context, *Request) Response { return OK(nil) })

	// The first client gives up while the hook runs.
	ctx, cancel := context.WithCancel(t.Context())
	raw := mustJSON(t, envelopeFor(OrgInstall, nil))
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(string(raw)))
	req.Header.Set(SignatureHeader, Sign([]byte(testSecret), raw))
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() { svc.ServeHTTP(rec, req); close(served) }()
	<-entered
	cancel()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned webhook did not return")
	}
	if !strings.Contains(rec.Body.String(), `"retry":true`) {
		t.Errorf("abandoned webhook answered %s; want retry", rec.Body.String())
	}

	// The hook was not cancelled: once it finishes, the service serves.
	close(release)
	if res := postSigned(t, svc, envelopeFor(OrgInstall, nil)); !res.Success {
		t.Fatalf("webhook after the start: %+v", res)
	}
	if err := hookErr.Load(); err != nil {
		t.Errorf("the startup hook saw its context end: %v", err)
	}
}

func TestStartRecoversAPanickingHook(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.OnStartup(func(context.Context) error { panic("boom") })
	err := svc.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "startup hook 1 of 1: panicked: boom") {
		t.Fatalf("Start = %v; want the panic as an error", err)
	}
}

func TestStartWaitsForTheCallersContext(t *testing.T) {
	svc, _, _ := newTestService(t)
	release := make(chan struct{})
	defer close(release)
	svc.OnStartup(func(context.Context) error { <-release; return nil })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := svc.Start(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v; want the caller's deadline", err)
	}
}
