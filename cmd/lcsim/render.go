package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
)

// wireAttachment is any of the four shapes a job entry's attachment takes
// on the wire (table, hex dump, YAML, JSON); att_type says which fields are set.
type wireAttachment struct {
	Type    string   `json:"att_type"`
	Caption string   `json:"caption"`
	Headers []string `json:"headers"`
	Rows    [][]any  `json:"rows"`
	Data    string   `json:"data"`
}

// decodeAttachment reads one attachment, keeping numbers as written.
func decodeAttachment(raw json.RawMessage) (wireAttachment, error) {
	var a wireAttachment
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(&a)
	return a, err
}

// wireJob converts a job the emulated cloud merged (lctest keeps its own
// wire types) into the decoded form the functions below take.
func wireJob(j lctest.Job) jobs.Wire {
	w := jobs.Wire{ID: j.ID, Start: j.Start, End: j.End, Cause: j.Cause, Sensors: j.Sensors}
	for _, e := range j.Hist {
		w.Hist = append(w.Hist, jobs.WireEntry(e))
	}
	return w
}

// jobTables returns the table attachments of a job's history, in order.
func jobTables(j jobs.Wire) []wireAttachment {
	var out []wireAttachment
	for _, e := range j.Hist {
		for _, raw := range e.Attachments {
			if a, err := decodeAttachment(raw); err == nil && a.Type == jobs.TypeTable {
				out = append(out, a)
			}
		}
	}
	return out
}

// jobStatus is "closed" or "open".
func jobStatus(j jobs.Wire) string {
	if j.End != 0 {
		return "closed"
	}
	return "open"
}

// renderJob writes a job's narrative for a person to read: a header, the
// cause, then one line per history entry ("!" marks important ones) with
// its attachments below it, each cut to maxRows rows or lines (0: all).
func renderJob(w *strings.Builder, j jobs.Wire, sensors *sensorBook, maxRows int) {
	labels := make([]string, 0, len(j.Sensors))
	for _, sid := range j.Sensors {
		labels = append(labels, sensors.label(sid))
	}
	fmt.Fprintf(w, "job %s", j.ID)
	if len(labels) > 0 {
		fmt.Fprintf(w, "  %s", strings.Join(labels, ", "))
	}
	fmt.Fprintf(w, "  %s\n", jobStatus(j))
	if j.Cause != "" {
		fmt.Fprintf(w, "  cause: %s\n", j.Cause)
	}
	for _, e := range j.Hist {
		mark := "-"
		if e.Important {
			mark = "!"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, oneLine(e.Msg))
		for _, raw := range e.Attachments {
			renderAttachment(w, raw, "      ", maxRows)
		}
	}
}

// renderAttachment writes one attachment, each line prefixed by indent.
func renderAttachment(w *strings.Builder, raw json.RawMessage, indent string, maxRows int) {
	a, err := decodeAttachment(raw)
	if err != nil {
		fmt.Fprintf(w, "%s[unreadable attachment: %v]\n", indent, err)
		return
	}
	var body []string
	var more int
	var unit string
	switch a.Type {
	case jobs.TypeTable:
		fmt.Fprintf(w, "%s%s (table, %s)\n", indent, captionOr(a.Caption, "table"), plural(len(a.Rows), "row"))
		rows, cut := limit(a.Rows, maxRows)
		body, more, unit = tableLines(a.Headers, rows), cut, "row"
	case jobs.TypeYAML, jobs.TypeJSON:
		lines := strings.Split(strings.TrimRight(a.Data, "\n"), "\n")
		fmt.Fprintf(w, "%s%s (%s, %s)\n", indent, captionOr(a.Caption, a.Type), a.Type, plural(len(lines), "line"))
		body, more = limit(lines, maxRows)
		unit = "line"
	case jobs.TypeHexDump:
		data, err := base64.StdEncoding.DecodeString(a.Data)
		if err != nil {
			fmt.Fprintf(w, "%s%s (hex dump that is not base64: %v)\n", indent, captionOr(a.Caption, "hex dump"), err)
			return
		}
		fmt.Fprintf(w, "%s%s (hex dump, %s)\n", indent, captionOr(a.Caption, "hex dump"), plural(len(data), "byte"))
		body, more = limit(strings.Split(strings.TrimRight(hex.Dump(data), "\n"), "\n"), maxRows)
		unit = "line"
	default:
		fmt.Fprintf(w, "%s%s (attachment of unknown type %q)\n", indent, captionOr(a.Caption, "attachment"), a.Type)
		return
	}
	for _, l := range body {
		fmt.Fprintf(w, "%s  %s\n", indent, l)
	}
	if more > 0 {
		fmt.Fprintf(w, "%s  … %d more %s\n", indent, more, pluralWord(more, unit))
	}
}

// tableLines aligns a table's header and rows in columns.
func tableLines(headers []string, rows [][]any) []string {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cleanCells(headers), "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cellText(c)
		}
		fmt.Fprintln(tw, strings.Join(cleanCells(cells), "\t"))
	}
	tw.Flush()
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// cellText renders one table cell as decoded with UseNumber.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// cleanCells keeps tabs and newlines in cells from breaking the columns.
func cleanCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = oneLine(c)
	}
	return out
}

// oneLine folds whitespace that would break a line or a column.
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// limit keeps the first n items (all when n <= 0) and says how many it cut.
func limit[T any](items []T, n int) ([]T, int) {
	if n <= 0 || len(items) <= n {
		return items, 0
	}
	return items[:n], len(items) - n
}

func captionOr(caption, fallback string) string {
	if caption == "" {
		return fallback
	}
	return caption
}

// plural says "1 row", "3 rows".
func plural(n int, unit string) string { return strconv.Itoa(n) + " " + pluralWord(n, unit) }

// pluralWord says "row" for 1, "rows" otherwise.
func pluralWord(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}
