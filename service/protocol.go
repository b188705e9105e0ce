package service

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/lcsvc/lcservice/internal/wire"
	"github.com/lcsvc/lcservice/tasking"
)

// serviceProtocol is the service protocol: signed with lc-svc-sig over the
// raw body, one envelope per webhook, answered 200 with the response.
type serviceProtocol struct{ s *Service }

var sigHeaderKey = http.CanonicalHeaderKey(SignatureHeader)

func (serviceProtocol) Kind() string            { return "service" }
func (serviceProtocol) SignatureHeader() string { return sigHeaderKey }
func (serviceProtocol) Inflates() bool          { return false }
func (serviceProtocol) Check() error            { return nil }

func (serviceProtocol) Unsigned() (int, []byte, bool) { return 0, nil, false }

// Decode reads the envelope strictly (see decodeEnvelope). Its key names
// the service, etype, organization and mid, so two services sharing a
// store never share an answer; health is answered afresh every time.
func (p serviceProtocol) Decode(body []byte) (wire.Message, error) {
	env := new(envelope)
	if err := decodeEnvelope(body, env); err != nil {
		return wire.Message{}, err
	}
	m := wire.Message{Deadline: handlerDeadline(env.Deadline, time.Now()), Value: env}
	if env.MID != "" && env.EType != Health {
		m.Key = p.s.name + "\x00" + string(env.EType) + "\x00" + env.OID + "\x00" + env.MID
	}
	return m, nil
}

func (p serviceProtocol) Answer(ctx context.Context, m wire.Message) wire.Answer {
	resp := p.s.dispatch(ctx, m.Value.(*envelope))
	return wire.Answer{Status: http.StatusOK, Body: resp.marshal(), Keep: resp.Success || !resp.Retry}
}

func (serviceProtocol) Fail(err error, retriable bool) wire.Answer {
	r := Fail(err)
	r.Retry = retriable
	return wire.Answer{Status: http.StatusOK, Body: r.marshal(), Keep: !retriable}
}

func (serviceProtocol) Refusal(msg string) []byte {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

func init() {
	wire.Serve = func(s *Service, p wire.Protocol) { s.proto = p }
	wire.ProtocolOf = func(s *Service) wire.Protocol { return s.proto }
	wire.Dispatch = func(s *Service, ctx context.Context, req *Request) Response { return s.dispatchRequest(ctx, req) }
	wire.NewRequest = func(s *Service, etype EventType, org tasking.Org, data json.RawMessage) *Request {
		r := NewRequest(etype, org, data, nil)
		r.base = s.log
		return r
	}
}
