package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/jobs"
)

// refWireResponse is how responses were rendered before they were written
// in one pass: encoding/json over this struct.
type refWireResponse struct {
	Success bool            `json:"success"`
	Retry   bool            `json:"retry"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error,omitempty"`
	Jobs    []*jobs.Job     `json:"jobs,omitempty"`
}

func refEncode(t *testing.T, r Response) []byte {
	w := refWireResponse{Success: r.Success, Retry: r.Retry && !r.Success, Data: json.RawMessage("{}"), Jobs: r.Jobs}
	if r.Err != nil {
		w.Error = r.Err.Error()
	}
	if r.Data != nil {
		d, err := json.Marshal(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		if string(d) != "null" {
			w.Data = d
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResponseEncodingMatchesEncodingJSON checks that responses written in
// one pass are byte for byte what encoding/json made of them, jobs and
// attachments included.
func TestResponseEncodingMatchesEncodingJSON(t *testing.T) {
	odd := "<b>&amp;</b> \u2028 \xff tab\t quote\" back\\"
	newJob := func() *jobs.Job {
		j := jobs.New()
		j.SetCause(odd)
		j.AddSensor("s1")
		tbl := jobs.NewTable("t", "a", "b")
		tbl.AddRow(1, odd)
		js, err := jobs.JSON("j", map[string]any{"k": []any{1, "x", nil}})
		if err != nil {
			t.Fatal(err)
		}
		j.Narrate(odd, true, tbl, js, jobs.YAML("y", "a: 1\n"), jobs.HexDump("h", []byte{0, 1, 0xff}))
		return j
	}
	update := jobs.Reopen("job-2")
	update.Narrate("seen", false)
	update.Close()
	for name, r := range map[string]Response{
		"ok":                 OK(nil),
		"ok with data":       OK(map[string]any{"n": 1, "s": odd, "nested": map[string]any{"a": []int{1, 2}}}),
		"null data":          OK((*struct{})(nil)),
		"fail":               Fail(errors.New(odd)),
		"retry":              Retry(errors.New("later")),
		"retry with success": {Success: true, Retry: true},
		"jobs":               OK(map[string]string{"x": "y"}).WithJobs(newJob(), update),
		"failure with jobs":  Fail(errors.New("no")).WithJobs(update),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := r.encode()
			if err != nil {
				t.Fatal(err)
			}
			if want := refEncode(t, r); !bytes.Equal(got, want) {
				t.Errorf("encoded\n%s\nencoding/json\n%s", got, want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

// rawAttachment is a user-written attachment with indented output.
type rawAttachment struct{ text string }

func (rawAttachment) AttachmentType() string         { return jobs.TypeJSON }
func (a rawAttachment) MarshalJSON() ([]byte, error) { return []byte(a.text), nil }

// TestResponseWithUserAttachment checks a response holding an attachment
// the package does not know: its JSON is checked and compacted, and what
// the response decodes to is what encoding/json made of it.
func TestResponseWithUserAttachment(t *testing.T) {
	j := jobs.Reopen("job-3")
	j.Narrate("m", false, rawAttachment{"{\n \"att_type\" : \"json\", \"caption\": \"<c>\", \"data\": \"1\"\n}"})
	r := OK(nil).WithJobs(j)
	got, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal(refEncode(t, r), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) || bytes.Contains(got, []byte("\n")) {
		t.Errorf("encoded %s, want the meaning of %s, compacted", got, refEncode(t, r))
	}

	bad := jobs.Reopen("job-4")
	bad.Narrate("m", false, rawAttachment{`{"att_type":`})
	out := OK(nil).WithJobs(bad).marshal()
	var res struct {
		Success bool
		Error   string
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Success || !strings.Contains(res.Error, "building response") || !strings.Contains(res.Error, "attachment 0") {
		t.Errorf("a response with an attachment that is not JSON: %s", out)
	}
}

// TestUnrenderableResponseBecomesFailure checks that a response that
// cannot be rendered is answered as a failure saying why.
func TestUnrenderableResponseBecomesFailure(t *testing.T) {
	for name, c := range map[string]struct {
		r    Response
		want string
	}{
		"nil job":           {OK(nil).WithJobs(nil), "nil job"},
		"new job, no cause": {OK(nil).WithJobs(jobs.New()), "has no cause"},
		"data not object":   {OK("text"), "data must be a JSON object"},
		"data not JSON":     {OK(map[string]any{"f": func() {}}), "data:"},
	} {
		out := c.r.marshal()
		var res struct {
			Success, Retry bool
			Error          string
			Data           map[string]any
		}
		if err := json.Unmarshal(out, &res); err != nil || res.Success || res.Retry || !strings.Contains(res.Error, c.want) || res.Data == nil {
			t.Errorf("%s: answered %s, want a failure containing %q", name, out, c.want)
		}
	}
}
