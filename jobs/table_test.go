package jobs

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestTableAccessorsReturnCopies(t *testing.T) {
	headers := []string{"a", "b"}
	tb := NewTable("cap", headers...)
	row := []any{1, "x"}
	tb.AddRow(row...)
	headers[0] = "changed"
	row[0] = 99

	h := tb.Headers()
	r := tb.Rows()
	if !slices.Equal(h, []string{"a", "b"}) || r[0][0] != 1 {
		t.Fatalf("table kept the caller's slices: headers %q rows %v", h, r)
	}
	h[0] = "changed"
	r[0][0] = 99
	if tb.Headers()[0] != "a" || tb.Rows()[0][0] != 1 || tb.Len() != 1 {
		t.Errorf("changing returned copies changed the table: %q %v", tb.Headers(), tb.Rows())
	}
	if tb.Caption() != "cap" {
		t.Errorf("Caption() = %q, want cap", tb.Caption())
	}
}

func TestTableRows(t *testing.T) {
	tests := []struct {
		name string
		rows [][]any
		want string
	}{
		{"no rows", nil, `[]`},
		{"empty row", [][]any{{}}, `[[]]`},
		{"row without cells", [][]any{nil}, `[[]]`},
		{"mixed cells", [][]any{{1, 2.5, "s", true, nil}, {map[string]int{"k": 1}, []int{1}}}, `[[1,2.5,"s",true,null],[{"k":1},[1]]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable("t", "h")
			for _, r := range tt.rows {
				tb.AddRow(r...)
			}
			b, err := json.Marshal(tb)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Rows json.RawMessage `json:"rows"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Rows) != tt.want {
				t.Errorf("rows = %s, want %s", got.Rows, tt.want)
			}
			if tb.Len() != len(tt.rows) {
				t.Errorf("Len() = %d, want %d", tb.Len(), len(tt.rows))
			}
		})
	}
}

func TestTableMarshalErrors(t *testing.T) {
	var nilTable *Table
	tb := NewTable("procs", "pid")
	tb.AddRow(1)
	tb.AddRow(func() {})
	tests := []struct {
		name    string
		table   *Table
		wantErr string
	}{
		{"nil table", nilTable, "nil *Table"},
		{"bad cell", tb, `table "procs" row 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.table.MarshalJSON()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MarshalJSON error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTableConcurrentAddRow(t *testing.T) {
	const n = 50
	tb := NewTable("t", "i")
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tb.AddRow(i)
			_ = tb.Rows()
			if _, err := json.Marshal(tb); err != nil {
				t.Errorf("marshal while rows are added: %v", err)
			}
		}()
	}
	wg.Wait()
	seen := make(map[any]bool)
	for _, r := range tb.Rows() {
		seen[r[0]] = true
	}
	if tb.Len() != n || len(seen) != n {
		t.Errorf("Len() = %d with %d distinct rows, want %d", tb.Len(), len(seen), n)
	}
}
