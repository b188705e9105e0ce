package jobs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The encoders the package used before it appended its wire shapes in one
// pass: encoding/json over these structs. TestAppendJSONMatchesReference
// compares the two.
type refNewJob struct {
	ID      string            `json:"id"`
	Start   int64             `json:"start"`
	Cause   string            `json:"cause"`
	Sensors []string          `json:"sid"`
	Hist    []json.RawMessage `json:"hist"`
	End     *int64            `json:"end,omitempty"`
}

type refUpdate struct {
	ID      string            `json:"id"`
	Cause   string            `json:"cause,omitempty"`
	Sensors []string          `json:"sid,omitempty"`
	Hist    []json.RawMessage `json:"hist,omitempty"`
	End     *int64            `json:"end,omitempty"`
}

type refEntry struct {
	TS          int64             `json:"ts"`
	Msg         string            `json:"msg"`
	Attachments []json.RawMessage `json:"attachments"`
	Important   bool              `json:"is_important"`
}

type refText struct {
	Type    string `json:"att_type"`
	Caption string `json:"caption"`
	Data    string `json:"data"`
}

type refTable struct {
	Type    string   `json:"att_type"`
	Caption string   `json:"caption"`
	Headers []string `json:"headers"`
	Rows    [][]any  `json:"rows"`
}

func refAttachment(t *testing.T, a Attachment) json.RawMessage {
	var v any
	switch a := a.(type) {
	case hexDump:
		v = refText{TypeHexDump, a.caption, base64.StdEncoding.EncodeToString(a.data)}
	case textAttachment:
		v = refText{a.typ, a.caption, a.text}
	case *Table:
		h, r := a.headers, a.rows
		if h == nil {
			h = []string{}
		}
		if r == nil {
			r = [][]any{}
		}
		v = refTable{TypeTable, a.caption, h, r}
	default:
		v = a
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func refMarshal(t *testing.T, j *Job) []byte {
	var hist []json.RawMessage
	for _, e := range j.hist {
		atts := []json.RawMessage{}
		for _, a := range e.Attachments {
			atts = append(atts, refAttachment(t, a))
		}
		b, err := json.Marshal(refEntry{e.Time.UnixMilli(), e.Message, atts, e.Important})
		if err != nil {
			t.Fatal(err)
		}
		hist = append(hist, b)
	}
	var end *int64
	if j.closed {
		ms := j.end.UnixMilli()
		end = &ms
	}
	var v any = refUpdate{j.id, j.cause, j.sensors, hist, end}
	if j.isNew {
		if hist == nil {
			hist = []json.RawMessage{}
		}
		sensors := j.sensors
		if sensors == nil {
			sensors = []string{}
		}
		v = refNewJob{j.id, j.start.UnixMilli(), j.cause, sensors, hist, end}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spacedAttachment is a user-written attachment whose MarshalJSON is
// indented and holds characters encoding/json escapes.
type spacedAttachment struct{}

func (spacedAttachment) AttachmentType() string { return TypeJSON }
func (spacedAttachment) MarshalJSON() ([]byte, error) {
	return []byte("{\n  \"att_type\": \"json\",\n  \"caption\": \"<b>&</b>\",\n  \"data\": \"[1, 2]\"\n}"), nil
}

// TestAppendJSONMatchesReference checks that jobs written in one pass
// decode to what encoding/json made of them, and that the package's own
// attachments are byte for byte the same.
func TestAppendJSONMatchesReference(t *testing.T) {
	odd := "<script>&amp;</script> \u2028 \xff\xfe tab\t nl\n quote\" back\\ \x01 é"
	jobsUnderTest := map[string]func() *Job{
		"new, nothing narrated": func() *Job { j := newJob(goldenID, true, time.Now); j.SetCause("c"); return j },
		"bare update":           func() *Job { return newJob(goldenID, false, time.Now) },
		"update with odd strings": func() *Job {
			j := newJob(odd, false, newStepClock(testEpoch, time.Millisecond).Now)
			j.SetCause(odd)
			j.AddSensor(odd)
			j.AddSensor("s2")
			j.Narrate(odd, true, YAML(odd, odd), HexDump(odd, []byte(odd)), spacedAttachment{})
			j.Close()
			return j
		},
		"new with every attachment": func() *Job {
			j := newJob(goldenID, true, newStepClock(testEpoch, 1500*time.Millisecond).Now)
			j.SetCause("suspicious")
			j.AddSensor("s1")
			tbl := NewTable(odd, "pid", odd)
			tbl.AddRow(4242, odd, false, nil, 1.5, map[string]any{"<": []int{1}})
			js, err := JSON(odd, map[string]any{"score": 87, odd: []string{odd}})
			if err != nil {
				t.Fatal(err)
			}
			j.Narrate("one", false, tbl, js, NewTable("empty"), HexDump("nil", nil))
			j.Narrate("two", false)
			return j
		},
	}
	for name, build := range jobsUnderTest {
		t.Run(name, func(t *testing.T) {
			j := build()
			want := refMarshal(t, j)
			got, err := j.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("AppendJSON dropped what dst held: %.20s", got)
			}
			got = got[len("prefix"):]
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("AppendJSON wrote invalid JSON %s: %v", got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("AppendJSON decodes differently from encoding/json:\ngot  %s\nwant %s", got, want)
			}
			if name != "update with odd strings" && !bytes.Equal(got, want) {
				t.Errorf("AppendJSON is not byte for byte encoding/json's:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendJSONKeepsDstOnError(t *testing.T) {
	j := Reopen("job-1")
	j.Narrate("m", false, YAML("ok", "a: 1"), badAttachment{})
	got, err := j.AppendJSON([]byte("dst"))
	if err == nil || string(got) != "dst" {
		t.Errorf("AppendJSON = %q, %v; want dst unchanged and an error", got, err)
	}
	if got, err := New().AppendJSON([]byte("dst")); err == nil || string(got) != "dst" {
		t.Errorf("AppendJSON of a new job without cause = %q, %v", got, err)
	}
}

// invalidAttachment's MarshalJSON returns text that is not JSON.
type invalidAttachment struct{}

func (invalidAttachment) AttachmentType() string       { return TypeJSON }
func (invalidAttachment) MarshalJSON() ([]byte, error) { return []byte(`{"att_type":`), nil }

func TestAppendJSONRefusesInvalidAttachmentJSON(t *testing.T) {
	j := Reopen("job-1")
	j.Narrate("m", false, invalidAttachment{})
	if _, err := j.AppendJSON(nil); err == nil {
		t.Error("an attachment that marshals to invalid JSON was sent")
	}
}
