package service

import (
	"errors"
	"net/http"
)

// Transport serves a Service over a webhook protocol other than the service
// protocol: the extension package's transport serves it as a LimaCharlie
// extension. User code does not change; the transport adapts each message
// it receives to a Request and hands it to Dispatch.
type Transport interface {
	// Bind is called once, by New, with the service being built (its
	// handlers are not registered yet). It returns the handler of webhook
	// POSTs (any path); the service keeps answering GET /healthz itself.
	Bind(s *Service) (http.Handler, error)
}

// WithTransport serves the service with t instead of the service protocol.
// ServeHTTP, ListenAndServe and Serve then hand every webhook POST to t.
func WithTransport(t Transport) Option {
	return func(s *Service) {
		s.transport = t
	}
}

// Transport returns the transport given with WithTransport, or nil when the
// service speaks the service protocol.
func (s *Service) Transport() Transport { return s.transport }

// bindTransport asks the transport for its webhook handler.
func (s *Service) bindTransport() error {
	if s.transport == nil {
		return nil
	}
	h, err := s.transport.Bind(s)
	if err != nil {
		return err
	}
	if h == nil {
		return errors.New("service: the transport returned no webhook handler")
	}
	s.webhook = h
	return nil
}
