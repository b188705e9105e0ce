package jobs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

// Attachment is data shown with a history entry. The cloud knows four kinds,
// made by HexDump, NewTable, YAML and JSON; each marshals to its wire shape,
// att_type included. Other implementations are sent as they marshal, so they
// must produce one of those four shapes for the cloud to show them.
type Attachment interface {
	json.Marshaler
	// AttachmentType is the att_type on the wire: "hex_dump", "table",
	// "yaml" or "json".
	AttachmentType() string
}

// The att_type values of the service protocol.
const (
	TypeHexDump = "hex_dump"
	TypeTable   = "table"
	TypeYAML    = "yaml"
	TypeJSON    = "json"
)

// hexDump is the attachment made by HexDump.
type hexDump struct {
	caption string
	data    []byte
}

// HexDump attaches raw bytes, shown as a hex dump. The bytes are copied, so
// the caller may reuse data.
func HexDump(caption string, data []byte) Attachment {
	return hexDump{caption: caption, data: append([]byte(nil), data...)}
}

// AttachmentType returns "hex_dump".
func (hexDump) AttachmentType() string { return TypeHexDump }

// MarshalJSON renders {att_type, caption, data} with data in standard base64.
func (h hexDump) MarshalJSON() ([]byte, error) { return h.appendJSON(nil) }

func (h hexDump) appendJSON(dst []byte) ([]byte, error) {
	b := append(dst, `{"att_type":"`+TypeHexDump+`","caption":`...)
	b = jsonscan.AppendString(b, h.caption)
	b = append(b, `,"data":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.data)
	return append(b, `"}`...), nil
}

// textAttachment is the attachment made by YAML and JSON: text sent as is
// under an att_type.
type textAttachment struct {
	typ, caption, text string
}

// YAML attaches YAML text, shown formatted. The text is not parsed.
func YAML(caption, text string) Attachment {
	return textAttachment{typ: TypeYAML, caption: caption, text: text}
}

// JSON attaches v rendered as JSON text, shown formatted. v is rendered now,
// so later changes to it do not show; the error says why v is not JSON.
func JSON(caption string, v any) (Attachment, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jobs: JSON attachment %q: %w", caption, err)
	}
	return textAttachment{typ: TypeJSON, caption: caption, text: string(b)}, nil
}

// AttachmentType returns "yaml" or "json".
func (t textAttachment) AttachmentType() string { return t.typ }

// MarshalJSON renders {att_type, caption, data} with the text as data.
func (t textAttachment) MarshalJSON() ([]byte, error) { return t.appendJSON(nil) }

func (t textAttachment) appendJSON(dst []byte) ([]byte, error) {
	b := append(dst, `{"att_type":`...)
	b = jsonscan.AppendString(b, t.typ)
	b = append(b, `,"caption":`...)
	b = jsonscan.AppendString(b, t.caption)
	b = append(b, `,"data":`...)
	b = jsonscan.AppendString(b, t.text)
	return append(b, '}'), nil
}

// isNilAttachment reports whether a holds nothing to send: a nil interface or
// a nil *Table.
func isNilAttachment(a Attachment) bool {
	if a == nil {
		return true
	}
	t, ok := a.(*Table)
	return ok && t == nil
}
