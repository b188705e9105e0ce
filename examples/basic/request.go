package main

import (
	"context"
	"fmt"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// requestParams is what the LimaCharlie UI shows when a user calls the service.
var requestParams = service.Params{
	"sid":   {Type: service.ParamSID, Description: "sensor to report on", Required: true, Index: 1},
	"scope": {Type: service.ParamEnum, Description: "what to report", Values: []string{"summary", "full"}, Index: 2},
	"limit": {Type: service.ParamInt, Description: "rows at most (1-100)", Index: 3},
}

// handleRequest answers a request with a job whose table lists the checks
// that would run on the sensor.
func handleRequest(ctx context.Context, req *service.Request) service.Response {
	scope := req.String("scope")
	if scope == "" {
		scope = "summary"
	}
	limit, ok := req.Int("limit")
	if !ok {
		limit = 10
	}
	if limit < 1 || limit > 100 {
		return service.Failf("invalid parameter limit: %d is outside 1-100", limit)
	}
	// The request's logger names its organization and message id (mid).
	req.Logger().Debug("request", "scope", scope, "limit", limit)
	checks := []string{"autoruns", "services", "packages", "network", "users"}
	if scope == "full" {
		checks = append(checks, "drivers", "scheduled tasks", "browser extensions")
	}
	table := jobs.NewTable("planned checks", "#", "check", "scope")
	for i, c := range checks {
		if int64(i) >= limit {
			break
		}
		table.AddRow(i+1, c, scope)
	}
	job := jobs.New()
	job.SetCause(fmt.Sprintf("%s report requested", scope))
	job.AddSensor(req.SID())
	job.Narrate(fmt.Sprintf("%d checks planned", table.Len()), false, table)
	job.Close()
	return service.OK(map[string]any{"sid": req.SID(), "checks": table.Len()}).WithJobs(job)
}
