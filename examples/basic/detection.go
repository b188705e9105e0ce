package main

import (
	"cmp"
	"context"
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// detectionName is the D&R report this service subscribes to.
const detectionName = "suspicious-process-name"

// suspiciousNames is published as lcr://service/basic-example/suspicious-names
// for the organization's D&R rules to use as a lookup.
var suspiciousNames = []byte(`{"mimikatz.exe": {}, "psexec.exe": {}, "procdump.exe": {}}`)

// detection is the part of a detection this service reads. Its detect is
// the event that matched; older detections nest it as detect.event.
type detection struct {
	Cat     string `json:"cat"`
	Routing struct {
		SID      string `json:"sid"`
		Hostname string `json:"hostname"`
	} `json:"routing"`
	Detect struct {
		FilePath string `json:"FILE_PATH"`
		Event    struct {
			FilePath string `json:"FILE_PATH"`
		} `json:"event"`
	} `json:"detect"`
}

// handleDetection opens a job for every suspicious process reported.
func handleDetection(ctx context.Context, req *service.Request) service.Response {
	var d detection
	if err := req.Decode(&d); err != nil {
		return service.Fail(err)
	}
	if d.Cat != detectionName {
		return service.OK(nil)
	}
	job := jobs.New()
	job.SetCause(fmt.Sprintf("%s on %s", d.Cat, d.Routing.Hostname))
	if d.Routing.SID != "" {
		job.AddSensor(d.Routing.SID)
	}
	path := cmp.Or(d.Detect.FilePath, d.Detect.Event.FilePath)
	job.Narrate(fmt.Sprintf("process %s flagged; review it in the sensor timeline", path), true)
	job.Close()
	return service.OK(nil).WithJobs(job)
}
