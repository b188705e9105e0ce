// Package survey is the service behind examples/packages: a request with a
// sensor id tasks os_packages on that sensor, and the answer is narrated as a
// table of package names and versions in a job. It is a package of its own so
// the demo (cmd/lcsim) and tests can run it in-process.
package survey

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/lcsvc/lcservice/interactive"
	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// Name is the service name; its replicant rule is svc-package-survey-ex.
const Name = "package-survey"

// Options tune the service; the zero value is production's.
type Options struct {
	// TTL is how long a sensor has to answer (default 2 minutes).
	TTL time.Duration
	// Interactive options are passed to interactive.New: the API URL, log
	// output, a clock for tests.
	Interactive []interactive.Option
}

// New builds the package-survey service with the shared secret.
func New(secret string, o Options) (*interactive.Service, error) {
	if secret == "" {
		return nil, fmt.Errorf("no shared secret: export LC_SHARED_SECRET (the secret configured for this service in LimaCharlie)")
	}
	if o.TTL == 0 {
		o.TTL = 2 * time.Minute
	}
	is, err := interactive.New(Name, secret, o.Interactive...)
	if err != nil {
		return nil, err
	}
	is.SetRequestParams(service.Params{
		"sid": {Type: service.ParamSID, Description: "sensor whose packages to list", Required: true},
	})
	is.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		return survey(ctx, is, req, o.TTL)
	})
	return is, nil
}

// survey tasks os_packages and returns the new job in the response.
func survey(ctx context.Context, is *interactive.Service, req *service.Request, ttl time.Duration) service.Response {
	sid := req.SID()
	job := jobs.New()
	job.SetCause("package survey requested")
	job.AddSensor(sid)
	// Narrated before tasking: the sensor may answer before this response is sent.
	job.Narrate("asking the sensor for its installed packages", false)
	_, err := is.Task(ctx, req.Org(), sid, "os_packages",
		interactive.WithJob(job),
		interactive.TTL(ttl),
		interactive.Then(packagesListed),
		interactive.OnTimeout(func(ctx context.Context, t *interactive.Timeout) {
			t.Job.Narrate(fmt.Sprintf("sensor %s did not answer within %s; survey failed", t.SID, ttl), true)
			t.Job.Close()
		}),
	)
	if err != nil {
		if resp := service.FailOrRetry(err); resp.Retry {
			// A rate limit, an API error or timeout: the cloud delivers
			// the request again and the survey starts over (a task that
			// did reach the API is not sent twice).
			return resp
		}
		job.Narrate("could not task the sensor: "+err.Error(), true)
		job.Close()
		return service.Fail(err).WithJobs(job)
	}
	return service.OK(map[string]string{"job_id": job.ID()}).WithJobs(job)
}

// Package is one entry of an OS_PACKAGES_REP event.
type Package struct {
	Name    string `json:"PACKAGE_NAME"`
	Version string `json:"PACKAGE_VERSION"`
}

// packagesListed narrates the sensor's packages and closes the job.
func packagesListed(ctx context.Context, r *interactive.Reply) service.Response {
	if r.Err != nil {
		r.Job.Narrate(fmt.Sprintf("%s could not list packages: %v", r.Hostname, r.Err), true)
		r.Job.Close()
		return service.OK(nil)
	}
	var rep struct {
		Packages []Package `json:"PACKAGES"`
	}
	if err := r.Decode(&rep); err != nil {
		r.Job.Narrate("unreadable answer: "+err.Error(), true)
		r.Job.Close()
		return service.OK(nil)
	}
	sort.Slice(rep.Packages, func(i, j int) bool { return rep.Packages[i].Name < rep.Packages[j].Name })
	table := jobs.NewTable("installed packages", "package", "version")
	for _, p := range rep.Packages {
		table.AddRow(p.Name, p.Version)
	}
	r.Job.Narrate(fmt.Sprintf("%s has %d packages", r.Hostname, table.Len()), false, table)
	r.Job.Close()
	return service.OK(map[string]int{"packages": table.Len()})
}
