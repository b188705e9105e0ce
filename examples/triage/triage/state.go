package triage

import (
	"encoding/json"
	"fmt"

	"github.com/lcsvc/lcservice/interactive"
)

// target is a process whose image is to be hashed. In the token it is the
// array [pid, "path"].
type target struct {
	PID  int64
	Path string
}

func (t target) MarshalJSON() ([]byte, error) { return json.Marshal([]any{t.PID, t.Path}) }

func (t *target) UnmarshalJSON(b []byte) error { return decodeTuple(b, &t.PID, &t.Path) }

// signer is what file_hash said of a file's code signature.
type signer int

const (
	notHashed      signer = iota // the sensor could not hash the file
	signerSigned                 // FILE_IS_SIGNED true
	signerUnsigned               // FILE_IS_SIGNED false
	signerUnknown                // hashed, but the sensor did not say
)

func (s signer) String() string {
	switch s {
	case signerSigned:
		return "signed"
	case signerUnsigned:
		return "unsigned"
	case signerUnknown:
		return "unknown"
	}
	return "n/a"
}

// row is one line of the final table. SHA256 holds the error text when the
// sensor could not hash the file. In the token it is [pid, "path",
// "sha256", signer].
type row struct {
	PID    int64
	Path   string
	SHA256 string
	Signer signer
}

func (r row) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{r.PID, r.Path, r.SHA256, r.Signer})
}

func (r *row) UnmarshalJSON(b []byte) error {
	return decodeTuple(b, &r.PID, &r.Path, &r.SHA256, &r.Signer)
}

// cells returns the row as table cells: path, pid, sha256, signer.
func (r row) cells() []any { return []any{r.Path, r.PID, r.SHA256, r.Signer.String()} }

// state is what each file_hash task carries in its token. Keys are one
// letter and tuples are arrays: the whole must fit in interactive.MaxStateLen.
type state struct {
	// Queue holds the file this task hashes, then those still to hash.
	Queue []target `json:"q"`
	// N is how many files the investigation hashes; I is the number (from
	// 1) of the file this task hashes.
	N int `json:"n"`
	I int `json:"i"`
	// Rows are the rows of files 1 to I-1, while they fit in the token.
	Rows []row `json:"r,omitempty"`
	// Spilled says the rows moved to the process cache (see the package doc).
	Spilled bool `json:"c,omitempty"`
}

// fits reports whether st marshals within the token's state budget.
func (st state) fits() bool {
	b, err := json.Marshal(st)
	return err == nil && len(b) <= interactive.MaxStateLen
}

// planQueue returns the first state of the hashing: the longest prefix of
// all whose state fits the budget, and the targets left out.
func planQueue(all []target) (first state, left []target) {
	kept := 0
	for kept < len(all) && (state{Queue: all[:kept+1], N: kept + 1, I: 1}).fits() {
		kept++
	}
	return state{Queue: all[:kept], N: kept, I: 1}, all[kept:]
}

// decodeTuple decodes the JSON array b into fields, one element each.
func decodeTuple(b []byte, fields ...any) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return err
	}
	if len(elems) != len(fields) {
		return fmt.Errorf("want an array of %d elements, got %d", len(fields), len(elems))
	}
	for i, e := range elems {
		if err := json.Unmarshal(e, fields[i]); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}
