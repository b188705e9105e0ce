package triage

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
)

func TestStateWireShape(t *testing.T) {
	st := state{
		Queue: []target{{4242, `C:\Users\a\x.exe`}},
		N:     2, I: 2,
		Rows: []row{{7, "/tmp/y", "ab", signerUnsigned}},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"q":[[4242,"C:\\Users\\a\\x.exe"]],"n":2,"i":2,"r":[[7,"/tmp/y","ab",2]]}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
	var back state
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.N != 2 || back.I != 2 || back.Queue[0] != st.Queue[0] || back.Rows[0] != st.Rows[0] || back.Spilled {
		t.Errorf("round trip = %+v", back)
	}
	for _, bad := range []string{`{"q":[[1]]}`, `{"q":[["x","y"]]}`, `{"q":{}}`, `{"r":[[1,"p","h"]]}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

func targets(n int, format string) []target {
	out := make([]target, n)
	for i := range out {
		out[i] = target{PID: int64(10000 + i), Path: fmt.Sprintf(format, i)}
	}
	return out
}

func stateLen(t *testing.T, st state) int {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestPlanQueueStaysWithinBudget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		all      []target
		wantKept int // -1: the budget decides, check the boundary
	}{
		{"short queue kept whole", targets(3, "/tmp/t%d"), 3},
		{"empty", nil, 0},
		{"long queue cut", targets(40, `C:\Users\alice\AppData\Local\Temp\dropper-%02d.exe`), -1},
		{"one path beyond the budget", []target{{1, "/" + strings.Repeat("x", interactive.MaxStateLen)}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, left := planQueue(tc.all)
			if first.N != len(first.Queue) || first.I != 1 || len(first.Queue)+len(left) != len(tc.all) {
				t.Fatalf("first %+v, %d left of %d", first, len(left), len(tc.all))
			}
			if tc.wantKept >= 0 && first.N != tc.wantKept {
				t.Fatalf("kept %d, want %d", first.N, tc.wantKept)
			}
			if n := stateLen(t, first); first.N > 0 && n > interactive.MaxStateLen {
				t.Errorf("first state is %d bytes, budget %d", n, interactive.MaxStateLen)
			}
			if len(left) > 0 {
				if left[0] != tc.all[first.N] {
					t.Errorf("left out starts with %v, want %v", left[0], tc.all[first.N])
				}
				one := state{Queue: tc.all[:first.N+1], N: first.N + 1, I: 1}
				if n := stateLen(t, one); n <= interactive.MaxStateLen {
					t.Errorf("one more file would still fit (%d bytes): the cut is too early", n)
				}
			}
		})
	}
}

func TestNarrateCut(t *testing.T) {
	all := targets(40, `C:\Users\alice\AppData\Local\Temp\dropper-%02d.exe`)
	first, left := planQueue(all)
	job := jobs.Reopen("00000000-0000-4000-8000-000000000001")
	narrateCut(job, first.N, left)
	es := job.Entries()
	if len(es) != 1 || !es[0].Important {
		t.Fatalf("entries = %+v", es)
	}
	msg := es[0].Message
	if !strings.Contains(msg, fmt.Sprintf("hashing the first %d of 40 files; %d left out", first.N, len(left))) ||
		!strings.Contains(msg, "256-byte") {
		t.Errorf("message = %q", msg)
	}
	tbl, ok := es[0].Attachments[0].(*jobs.Table)
	if !ok || tbl.Len() != len(left) || tbl.Caption() != "processes left out" {
		t.Fatalf("attachment = %#v", es[0].Attachments)
	}
	rows := tbl.Rows()
	if rows[0][0] != left[0].PID || rows[0][1] != left[0].Path || rows[len(rows)-1][1] != all[39].Path {
		t.Errorf("rows = %v", rows)
	}
}

// TestRecordSpillsToCache follows rows into the token while they fit and
// into the cache once they do not.
func TestRecordSpillsToCache(t *testing.T) {
	tr := &triager{cache: newRowCache()}
	const job = "job-1"
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name        string
		all         []target
		wantSpillAt int // file number whose row spills; 0: never
	}{
		{"short paths ride in the token", targets(2, "/tmp/t%d"), 0},
		{"long paths spill", targets(3, "/home/alice/projects/scanner/build/bin/worker-%02d"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tr.cache.forget(job)
			st, left := planQueue(tc.all)
			if len(left) > 0 {
				t.Fatalf("%d left out: the test wants every file queued", len(left))
			}
			spilledAt := 0
			for len(st.Queue) > 0 {
				cur := st.Queue[0]
				next := tr.record(job, st, row{cur.PID, cur.Path, hash, signerUnsigned})
				if next.Spilled && !st.Spilled {
					spilledAt = st.I
				}
				if len(next.Queue) > 0 && stateLen(t, next) > interactive.MaxStateLen {
					t.Fatalf("state after file %d is %d bytes", st.I, stateLen(t, next))
				}
				got := tr.collected(job, next)
				if len(got) != st.I || got[st.I-1].Path != cur.Path {
					t.Fatalf("after file %d collected %v", st.I, got)
				}
				st = next
			}
			if spilledAt != tc.wantSpillAt {
				t.Errorf("spilled at file %d, want %d", spilledAt, tc.wantSpillAt)
			}
			if st.Spilled != (tc.wantSpillAt > 0) || (st.Spilled && len(st.Rows) != 0) {
				t.Errorf("final state %+v", st)
			}
		})
	}
	if tr.cache.len() != 0 {
		t.Errorf("cache holds %d jobs after forget", tr.cache.len())
	}
}
