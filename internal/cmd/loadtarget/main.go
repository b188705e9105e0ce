// Command loadtarget is the server `lcsim load` measures in the load table
// (.ci/loadtable): the same reply webhooks answered three ways, so that the
// service's CPU time per webhook can be set beside a floor.
//
//	loadtarget -mode bare|lcservice|lcservice-decode [-name load] [-handler load]
//
// It listens on 127.0.0.1:$PORT (default 8080) until interrupted, and
// takes the shared secret from -secret or LC_SHARED_SECRET. The modes:
//
//	bare              verify the signature (HMAC-SHA256), decode the whole
//	                  body with encoding/json into a map[string]any, answer
//	                  a fixed success: the ceiling of a bare handler that
//	                  reads what it is sent
//	lcservice         an interactive.Service whose reply handler -handler
//	                  answers OK without narrating anything
//	lcservice-decode  the same, and the handler decodes the reply's
//	                  packages (OS_PACKAGES_REP) with Reply.Decode
//
// Point lcsim load at it with the same -name, -handler and secret.
package main

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtarget:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtarget", flag.ContinueOnError)
	mode := fs.String("mode", "lcservice", "bare, lcservice or lcservice-decode")
	name := fs.String("name", "load", "the service's name (lcsim load -name)")
	handler := fs.String("handler", "load", "the reply handler the tokens name (lcsim load -handler)")
	secret := fs.String("secret", os.Getenv("LC_SHARED_SECRET"), "shared secret (default $LC_SHARED_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("no shared secret: pass -secret or export LC_SHARED_SECRET")
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	h, err := target(*mode, *name, *handler, *secret)
	if err != nil {
		ln.Close()
		return err
	}
	if is, ok := h.(*interactive.Service); ok {
		return is.Serve(ctx, ln) // the Service's own server, limits and all
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: h}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// packagesEvent is what lcservice-decode decodes each reply into.
type packagesEvent struct {
	Packages []struct {
		Name    string `json:"PACKAGE_NAME"`
		Version string `json:"PACKAGE_VERSION"`
	} `json:"PACKAGES"`
}

// target returns the handler of mode: a plain http.Handler for bare, an
// *interactive.Service for the others.
func target(mode, name, handler, secret string) (http.Handler, error) {
	switch mode {
	case "bare":
		return bare(secret)
	case "lcservice", "lcservice-decode":
	default:
		return nil, fmt.Errorf("-mode %q: use bare, lcservice or lcservice-decode", mode)
	}
	is, err := interactive.New(name, secret, interactive.WithServiceOptions(
		service.WithLogOutput(io.Discard, os.Stderr), service.WithDrainDelay(0)))
	if err != nil {
		return nil, err
	}
	decode := mode == "lcservice-decode"
	is.HandleReply(handler, func(_ context.Context, r *interactive.Reply) service.Response {
		if decode {
			var ev packagesEvent
			if err := r.Decode(&ev); err != nil {
				return service.Fail(err)
			}
		}
		return service.OK(nil)
	})
	return is, nil
}

// bare answers every POST with a fixed success once its signature
// verifies and its body decodes.
func bare(secret string) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.DefaultMaxBodyBytes))
		if err != nil {
			http.Error(w, `{"error":"reading the body failed"}`, http.StatusBadRequest)
			return
		}
		want := service.Sign([]byte(secret), body)
		if got := r.Header.Get(service.SignatureHeader); !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, `{"error":"body is not JSON"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"retry":false,"data":{}}`)
	}), nil
}
