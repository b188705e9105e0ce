package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/jobs"
)

func TestRenderAttachment(t *testing.T) {
	att := func(a jobs.Attachment) json.RawMessage {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	table := jobs.NewTable("procs", "pid", "path", "signed")
	table.AddRow(4, `C:\Windows\System32\svchost.exe`, true)
	table.AddRow(12345, "tab\there", nil)
	table.AddRow(7, "x", map[string]int{"a": 1})
	jsonAtt, err := jobs.JSON("answer", map[string]int{"a": 1, "b": 2})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		raw  json.RawMessage
		rows int
		want string
	}{
		{"table, all rows", att(table), 0, `
> procs (table, 3 rows)
>   pid    path                             signed
>   4      C:\Windows\System32\svchost.exe  true
>   12345  tab here
>   7      x                                {"a":1}
`},
		{"table, cut", att(table), 1, `
> procs (table, 3 rows)
>   pid  path                             signed
>   4    C:\Windows\System32\svchost.exe  true
>   … 2 more rows
`},
		{"table, cut by one", att(table), 2, `
> procs (table, 3 rows)
>   pid    path                             signed
>   4      C:\Windows\System32\svchost.exe  true
>   12345  tab here
>   … 1 more row
`},
		{"yaml", att(jobs.YAML("", "a: 1\nb: 2\n")), 1, `
> yaml (yaml, 2 lines)
>   a: 1
>   … 1 more line
`},
		{"json", att(jsonAtt), 0, `
> answer (json, 1 line)
>   {"a":1,"b":2}
`},
		{"hex dump", att(jobs.HexDump("head", []byte("MZ\x90\x00"))), 0, `
> head (hex dump, 4 bytes)
>   00000000  4d 5a 90 00                                       |MZ..|
`},
		{"hex dump not base64", json.RawMessage(`{"att_type":"hex_dump","caption":"x","data":"%%"}`), 0, "\n> x (hex dump that is not base64: illegal base64 data at input byte 0)\n"},
		{"unknown type", json.RawMessage(`{"att_type":"chart","caption":"c"}`), 0, "\n> c (attachment of unknown type \"chart\")\n"},
		// Only the start: the decoder's own words are not ours to pin.
		{"not an object", json.RawMessage(`[1]`), 0, "\n> [unreadable attachment: json: cannot unmarshal array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			renderAttachment(&b, c.raw, "> ", c.rows)
			got, want := b.String(), strings.TrimPrefix(c.want, "\n")
			if !strings.HasSuffix(want, "\n") {
				got = got[:min(len(got), len(want))]
			}
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}

func TestRenderJob(t *testing.T) {
	book := newSensorBook()
	cases := []struct {
		name string
		job  jobs.Wire
		want string
	}{
		{"open, unknown sensor", jobs.Wire{ID: "j1", Cause: "asked", Sensors: []string{"sid-1"},
			Hist: []jobs.WireEntry{{Msg: "first\nline"}, {Msg: "bad", Important: true}}}, `
job j1  sid-1  open
  cause: asked
  - first line
  ! bad
`},
		{"closed, no sensors or cause", jobs.Wire{ID: "j2", End: 5}, `
job j2  closed
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			renderJob(&b, c.job, book, 8)
			if got, want := b.String(), strings.TrimPrefix(c.want, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
