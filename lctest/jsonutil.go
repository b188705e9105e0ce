package lctest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// unmarshalNumbers is json.Unmarshal with UseNumber, refusing trailing data.
func unmarshalNumbers(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// toJSON encodes v, which the caller knows to be plain data; should it fail
// anyway the result is JSON null rather than a panic.
func toJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
