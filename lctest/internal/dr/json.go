package dr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Decode decodes a JSON object with numbers kept as json.Number, the form
// the evaluator compares: 4 and 4.0 are the same number, and a value too
// large for a float64 keeps its digits.
func Decode(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// unmarshal is json.Unmarshal with UseNumber, refusing trailing data.
func unmarshal(raw []byte, v any) error {
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
