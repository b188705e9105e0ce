package triage

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lcsvc/lcservice/interactive"
)

// hashRow reads a file_hash answer into the row of cur. An error — a
// RECEIPT error, or an ERROR in the reply — goes in the sha256 column.
func hashRow(cur target, r *interactive.Reply) row {
	rw := row{PID: cur.PID, Path: cur.Path}
	if r.Err != nil {
		rw.SHA256 = r.Err.Error()
		return rw
	}
	var rep struct {
		Hash    string          `json:"HASH"`
		Signed  json.RawMessage `json:"FILE_IS_SIGNED"`
		Code    json.RawMessage `json:"ERROR"`
		Message string          `json:"ERROR_MESSAGE"`
	}
	if err := r.Decode(&rep); err != nil {
		rw.SHA256 = "unreadable answer: " + err.Error()
		return rw
	}
	switch code := strings.Trim(string(rep.Code), `"`); code {
	case "", "0", "200":
	default:
		rw.SHA256 = fmt.Sprintf("sensor reported error %s: %s", code, rep.Message)
		return rw
	}
	if rep.Hash == "" {
		rw.SHA256 = "the sensor sent no hash"
		return rw
	}
	rw.SHA256 = rep.Hash
	switch strings.Trim(string(rep.Signed), `"`) {
	case "1", "true":
		rw.Signer = signerSigned
	case "0", "false":
		rw.Signer = signerUnsigned
	default:
		rw.Signer = signerUnknown
	}
	return rw
}
