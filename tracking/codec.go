package tracking

import "encoding/json"

// Codec turns a store's values into bytes and back, for a store whose
// entries leave the process (see [Redis]). Unmarshal must accept whatever
// Marshal produced, in any process of the service, including one running
// another build during a rolling deploy.
type Codec[V any] interface {
	Marshal(V) ([]byte, error)
	Unmarshal([]byte) (V, error)
}

// JSONCodec returns a Codec that encodes values with encoding/json. V must
// be JSON-encodable: a struct of plain data (a handler's name and its
// arguments), not a closure or a channel, which fail in Marshal.
func JSONCodec[V any]() Codec[V] { return jsonCodec[V]{} }

type jsonCodec[V any] struct{}

func (jsonCodec[V]) Marshal(v V) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec[V]) Unmarshal(b []byte) (V, error) {
	var v V
	err := json.Unmarshal(b, &v)
	return v, err
}
