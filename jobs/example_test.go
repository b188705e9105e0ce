package jobs_test

import (
	"encoding/json"
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
)

// A new job is given a cause, related to a sensor, narrated and closed, then
// sent in a response. Its ID and times differ on every run, so the example
// prints what it decodes to rather than the JSON itself.
func ExampleNew() {
	job := jobs.New()
	job.SetCause("suspicious process on web-1")
	job.AddSensor("5e8b2a4c-2f1d-4c3b-9a7e-1d2c3b4a5f60")

	procs := jobs.NewTable("process tree", "pid", "path")
	procs.AddRow(4242, `C:\Users\Public\evil.exe`)
	procs.AddRow(4243, `C:\Windows\System32\cmd.exe`)
	job.Narrate("collected the process tree", true, procs)
	job.Close()

	b, err := json.Marshal(job)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sent jobs.Wire
	if err := json.Unmarshal(b, &sent); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("cause:", sent.Cause)
	fmt.Println("sensors:", len(sent.Sensors), "entries:", len(sent.Hist), "rows:", procs.Len())
	fmt.Println("closed:", sent.End >= sent.Start)
	// Output:
	// cause: suspicious process on web-1
	// sensors: 1 entries: 1 rows: 2
	// closed: true
}

// A job without a cause cannot be sent: marshalling it fails and says why.
func ExampleJob_Validate() {
	job := jobs.New()
	fmt.Println(job.Validate() != nil)
	job.SetCause("nightly sweep")
	fmt.Println(job.Validate())
	// Output:
	// true
	// <nil>
}

// A later webhook adds to a job sent earlier by reopening it by ID; only the
// new entries and the closing time travel.
func ExampleReopen() {
	job := jobs.Reopen("0b9f3c1e-5a7d-4e2b-9c61-2f8d4a6b7e10")
	job.Narrate("sensor answered", false, jobs.YAML("summary", "packages: 12\n"))
	job.Close()

	b, err := json.Marshal(job)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(b, &sent); err != nil {
		fmt.Println(err)
		return
	}
	_, hasStart := sent["start"]
	_, hasEnd := sent["end"]
	fmt.Println("start:", hasStart, "end:", hasEnd)
	// Output: start: false end: true
}

func ExampleNewTable() {
	table := jobs.NewTable("installed packages", "name", "version")
	table.AddRow("openssl", "3.0.13")
	table.AddRow("curl", "8.5.0")

	b, err := json.Marshal(table)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output: {"att_type":"table","caption":"installed packages","headers":["name","version"],"rows":[["openssl","3.0.13"],["curl","8.5.0"]]}
}

func ExampleJSON() {
	att, err := jobs.JSON("verdict", map[string]any{"score": 87, "malicious": true})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(att)
	fmt.Println(string(b))
	// Output: {"att_type":"json","caption":"verdict","data":"{\"malicious\":true,\"score\":87}"}
}

func ExampleHexDump() {
	b, _ := json.Marshal(jobs.HexDump("PE header", []byte("MZ\x90\x00")))
	fmt.Println(string(b))
	// Output: {"att_type":"hex_dump","caption":"PE header","data":"TVqQAA=="}
}

// Tools reading responses fold a job's new record and its updates together.
func ExampleWire_Merge() {
	var job jobs.Wire
	for _, sent := range []string{
		`{"id":"j1","start":1700000000000,"cause":"sweep","sid":["s1"],"hist":[{"ts":1700000000001,"msg":"tasked","attachments":[],"is_important":false}]}`,
		`{"id":"j1","sid":["s2"],"hist":[{"ts":1700000005000,"msg":"answered","attachments":[],"is_important":true}]}`,
		`{"id":"j1","end":1700000006000}`,
	} {
		var w jobs.Wire
		if err := json.Unmarshal([]byte(sent), &w); err != nil {
			fmt.Println(err)
			return
		}
		job.Merge(w)
	}
	fmt.Println(job.ID, job.Cause, job.Sensors, len(job.Hist), job.End-job.Start)
	// Output: j1 sweep [s1 s2] 2 6000
}
