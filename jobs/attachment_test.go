package jobs

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestAttachmentJSON(t *testing.T) {
	mustJSON := func(caption string, v any) Attachment {
		t.Helper()
		a, err := JSON(caption, v)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name     string
		att      Attachment
		wantType string
		want     string
	}{
		{"hex dump", HexDump("bytes", []byte("MZ\x00\xff")), TypeHexDump,
			`{"att_type":"hex_dump","caption":"bytes","data":"TVoA/w=="}`},
		{"hex dump padding is standard base64", HexDump("b", []byte{0xfb, 0xff}), TypeHexDump,
			`{"att_type":"hex_dump","caption":"b","data":"+/8="}`},
		{"empty hex dump", HexDump("none", nil), TypeHexDump,
			`{"att_type":"hex_dump","caption":"none","data":""}`},
		{"yaml", YAML("cfg", "a: 1\nb: [x, y]\n"), TypeYAML,
			`{"att_type":"yaml","caption":"cfg","data":"a: 1\nb: [x, y]\n"}`},
		{"json object", mustJSON("obj", map[string]int{"b": 2, "a": 1}), TypeJSON,
			`{"att_type":"json","caption":"obj","data":"{\"a\":1,\"b\":2}"}`},
		{"json raw message", mustJSON("raw", json.RawMessage(`[1, 2]`)), TypeJSON,
			`{"att_type":"json","caption":"raw","data":"[1,2]"}`},
		{"json nil", mustJSON("nothing", nil), TypeJSON,
			`{"att_type":"json","caption":"nothing","data":"null"}`},
		{"table", tableWithRow("x"), TypeTable,
			`{"att_type":"table","caption":"t","headers":["c"],"rows":[["x"]]}`},
		{"empty table", NewTable("empty"), TypeTable,
			`{"att_type":"table","caption":"empty","headers":[],"rows":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.att.AttachmentType(); got != tt.wantType {
				t.Errorf("AttachmentType() = %q, want %q", got, tt.wantType)
			}
			got, err := json.Marshal(tt.att)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var shape struct {
				Type string `json:"att_type"`
			}
			if err := json.Unmarshal(got, &shape); err != nil || shape.Type != tt.att.AttachmentType() {
				t.Errorf("att_type on the wire = %q (%v), want %q", shape.Type, err, tt.att.AttachmentType())
			}
		})
	}
}

func TestJSONRejectsWhatIsNotJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"channel", make(chan int)},
		{"function", func() {}},
		{"NaN", math.NaN()},
		{"invalid raw message", json.RawMessage(`{"a":`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := JSON("cap", tt.v)
			if err == nil || a != nil {
				t.Fatalf("JSON(%s) = %v, %v; want nil and an error", tt.name, a, err)
			}
			if !strings.Contains(err.Error(), `JSON attachment "cap"`) {
				t.Errorf("error %q does not name the attachment", err)
			}
		})
	}
}

func TestAttachmentsSnapshotTheirInput(t *testing.T) {
	data := []byte{1, 2, 3}
	h := HexDump("h", data)
	m := map[string]int{"n": 1}
	j, err := JSON("j", m)
	if err != nil {
		t.Fatal(err)
	}
	data[0] = 9
	m["n"] = 2
	for _, tt := range []struct {
		att  Attachment
		want string
	}{
		{h, `{"att_type":"hex_dump","caption":"h","data":"AQID"}`},
		{j, `{"att_type":"json","caption":"j","data":"{\"n\":1}"}`},
	} {
		got, err := json.Marshal(tt.att)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("after changing the input: got %s, want %s", got, tt.want)
		}
	}
}
