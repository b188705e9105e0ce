package service

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"
)

func (s *Service) newRouter() *mux.Router {
	r := mux.NewRouter()
	r.Methods(http.MethodGet).Path("/healthz").HandlerFunc(liveness)
	r.Methods(http.MethodPost).PathPrefix("/").HandlerFunc(s.serveWebhook)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSONError(w, http.StatusMethodNotAllowed, "webhooks are delivered with POST")
	})
	r.NotFoundHandler = r.MethodNotAllowedHandler
	return r
}

// liveness answers GET /healthz without authentication. It reveals nothing
// about the service; the signed health webhook carries the metadata.
func liveness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// serveWebhook reads, verifies and parses one webhook, then dispatches it.
// The signature is checked over the raw bytes before any parsing.
func (s *Service) serveWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "request body over the limit")
			return
		}
		writeJSONError(w, http.StatusBadRequest, "reading request body failed")
		return
	}
	if len(s.secret) > 0 {
		if err := verify(s.secret, body, r.Header.Get(SignatureHeader)); err != nil {
			s.log.Warn("webhook refused", "reason", err.Error(), "remote", r.RemoteAddr)
			writeJSONError(w, http.StatusUnauthorized, err.Error())
			return
		}
	}
	var env envelope
	if err := decodeEnvelope(body, &env); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Started under the service's own context: a client that disconnects
	// does not cancel a start other webhooks wait for.
	if err := s.startWith(s.bg.ctx, r.Context()); err != nil {
		writeResponse(w, Retry(err).marshal())
		return
	}
	if s.trace {
		s.log.Info("webhook received", "body", redactJWT(body))
	}
	out := s.dispatch(r.Context(), &env).marshal()
	if s.trace {
		s.log.Info("webhook answered", "etype", string(env.EType), "mid", env.MID, "body", json.RawMessage(out))
	}
	writeResponse(w, out)
}

func writeResponse(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// redactJWT returns the envelope with its jwt replaced, for trace logs.
func redactJWT(body []byte) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return json.RawMessage(`"<unparseable>"`)
	}
	if _, ok := m["jwt"]; ok {
		m["jwt"] = json.RawMessage(`"[redacted]"`)
	}
	b, _ := json.Marshal(m)
	return b
}
