package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/lctest"
)

// report prints each job, the summary and what the cloud saw, and says
// which surveys did not go as they should.
func (d *demoRun) report() error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== jobs\n")
	var failed []string
	answered, packages, timedOut := 0, 0, 0
	for _, s := range d.sensors {
		var j jobs.Wire
		id, found := d.jobIDs[s.SID]
		if found {
			var lj lctest.Job
			lj, found = d.svc.Job(id)
			j = wireJob(lj)
		}
		if found {
			renderJob(&b, j, d.book, d.cfg.rows)
			b.WriteByte('\n')
		}
		o := judgeSurvey(s.Online(), j, found)
		switch {
		case o.failure != "":
			failed = append(failed, s.Hostname()+": "+o.failure)
		case o.timedOut:
			timedOut++
		default:
			answered++
			packages += o.packages
		}
	}
	fmt.Fprintf(&b, "summary: %s surveyed: %d answered with %s in all, %d timed out",
		plural(len(d.sensors), "sensor"), answered, plural(packages, "package"), timedOut)
	if len(failed) > 0 {
		fmt.Fprintf(&b, ", %d failed", len(failed))
	}
	b.WriteByte('\n')
	b.WriteString(d.cloudSaw())
	d.out.write(b.String())
	if len(failed) > 0 {
		return fmt.Errorf("%s went wrong: %s", plural(len(failed), "survey"), strings.Join(failed, "; "))
	}
	return nil
}

// cloudSaw counts what the emulated cloud observed of the service: the
// tasks it sent, the sensor answers its rule reported back to it, and the
// webhooks it answered.
func (d *demoRun) cloudSaw() string {
	// Exchanges are recorded as they end: count them in the order they began.
	xs := d.svc.Exchanges()
	slices.SortStableFunc(xs, func(a, b lctest.Exchange) int { return a.Time.Compare(b.Time) })
	failed := 0
	var etypes []string // in the order first sent
	byEType := map[string]int{}
	for _, x := range xs {
		if x.Err != nil || !x.Response.Success {
			failed++
		}
		if byEType[x.EType] == 0 {
			etypes = append(etypes, x.EType)
		}
		byEType[x.EType]++
	}
	var counts []string
	for _, e := range etypes {
		counts = append(counts, fmt.Sprintf("%d %s", byEType[e], e))
	}
	line := fmt.Sprintf("the cloud saw: %s sent, %s delivered to the service, %s answered (%s)",
		plural(len(d.org.Tasks()), "task"), plural(len(d.svc.Detections()), "detection"),
		plural(len(xs), "webhook"), strings.Join(counts, ", "))
	if failed > 0 {
		line += fmt.Sprintf(", %d of them failed", failed)
	}
	return line + "\n"
}

// surveyOutcome is how one sensor's survey ended: answered with a number
// of packages, timed out, or a failure saying what went wrong.
type surveyOutcome struct {
	packages int
	timedOut bool
	failure  string
}

// judgeSurvey says whether a survey went as it should: an online sensor's
// job closes with a package table, an offline sensor's closes on an
// important timeout entry. found is false when the sensor has no job.
func judgeSurvey(online bool, j jobs.Wire, found bool) surveyOutcome {
	tables := jobTables(j)
	switch {
	case !found:
		return surveyOutcome{failure: "the request got no job"}
	case !online && j.End != 0 && hasImportant(j):
		return surveyOutcome{timedOut: true}
	case !online:
		return surveyOutcome{failure: "offline, but its job did not end in a timeout"}
	case j.End == 0:
		return surveyOutcome{failure: "its job was never closed"}
	case len(tables) == 0 || len(tables[0].Rows) == 0:
		return surveyOutcome{failure: "its job closed without a package table"}
	}
	return surveyOutcome{packages: len(tables[0].Rows)}
}

func hasImportant(j jobs.Wire) bool {
	for _, e := range j.Hist {
		if e.Important {
			return true
		}
	}
	return false
}

// indentJSON renders raw JSON indented, keeping its key order, for a block
// that starts mid-line.
func indentJSON(raw json.RawMessage, prefix string) string {
	if len(raw) == 0 {
		return "(none)"
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, prefix, "  ") != nil {
		return string(raw)
	}
	return b.String()
}
