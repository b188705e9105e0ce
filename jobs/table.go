package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

// Table is a table attachment: a caption, column headers and rows of cells.
// Cells may be any value that marshals to JSON. A Table is safe for
// concurrent use, and is marshalled with the rows it holds at that moment.
type Table struct {
	caption string
	headers []string

	mu   sync.Mutex
	rows [][]any
}

// NewTable returns an empty table with the given caption and column headers.
func NewTable(caption string, headers ...string) *Table {
	return &Table{caption: caption, headers: slices.Clone(headers)}
}

// AddRow appends a row. Give one cell per header; the cells are copied, so
// the caller may reuse the slice.
func (t *Table) AddRow(cells ...any) {
	row := slices.Clone(cells)
	if row == nil {
		row = []any{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, row)
}

// Len returns the number of rows.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rows)
}

// Caption returns the table's caption.
func (t *Table) Caption() string { return t.caption }

// Headers returns a copy of the column headers.
func (t *Table) Headers() []string { return slices.Clone(t.headers) }

// Rows returns a copy of the rows; the cells themselves are not deep-copied.
func (t *Table) Rows() [][]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]any, len(t.rows))
	for i, r := range t.rows {
		out[i] = slices.Clone(r)
	}
	return out
}

// AttachmentType returns "table".
func (*Table) AttachmentType() string { return TypeTable }

// MarshalJSON renders {att_type, caption, headers, rows}; headers and
// rows are lists even when empty. It fails, naming the row, if a cell
// cannot be marshalled.
func (t *Table) MarshalJSON() ([]byte, error) { return t.appendJSON(nil) }

func (t *Table) appendJSON(dst []byte) ([]byte, error) {
	if t == nil {
		return dst, errors.New("jobs: nil *Table; create tables with NewTable")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := append(dst, `{"att_type":"`+TypeTable+`","caption":`...)
	b = jsonscan.AppendString(b, t.caption)
	b = append(b, `,"headers":[`...)
	for i, h := range t.headers {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonscan.AppendString(b, h)
	}
	b = append(b, `],"rows":`...)
	if len(t.rows) == 0 {
		b = append(b, `[]`...)
	} else {
		// The cells are any values: encoding/json writes them, once.
		rows, err := json.Marshal(t.rows)
		if err != nil {
			// Find the culprit so the error points at it.
			for i, r := range t.rows {
				if _, rerr := json.Marshal(r); rerr != nil {
					return dst, fmt.Errorf("jobs: table %q row %d: %w", t.caption, i, rerr)
				}
			}
			return dst, fmt.Errorf("jobs: table %q: %w", t.caption, err)
		}
		b = append(b, rows...)
	}
	return append(b, '}'), nil
}
