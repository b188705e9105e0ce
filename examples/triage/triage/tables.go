package triage

import (
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
)

// summary is the one-line narration of a row.
func (r row) summary() string {
	if r.Signer == notHashed {
		return fmt.Sprintf("could not hash %s (pid %d): %s", r.Path, r.PID, r.SHA256)
	}
	return fmt.Sprintf("%s (pid %d) is %s, sha256 %s", r.Path, r.PID, r.Signer, r.SHA256)
}

// targetTable tabulates processes by pid and path; nil when there are none.
func targetTable(caption string, ts []target) *jobs.Table {
	if len(ts) == 0 {
		return nil
	}
	tbl := jobs.NewTable(caption, "pid", "path")
	for _, t := range ts {
		tbl.AddRow(t.PID, t.Path)
	}
	return tbl
}

// rowTable tabulates rows; nil when there are none.
func rowTable(caption string, rows []row) *jobs.Table {
	if len(rows) == 0 {
		return nil
	}
	tbl := jobs.NewTable(caption, "path", "pid", "sha256", "signer")
	for _, r := range rows {
		tbl.AddRow(r.cells()...)
	}
	return tbl
}
