// Command basic is a complete plain LimaCharlie service to copy from: it
// declares request parameters, answers requests with a job carrying a table,
// subscribes to a detection, publishes a resource, and handles org install,
// uninstall and a daily tick.
//
// It reads its configuration from the environment:
//
//	LC_SHARED_SECRET  the shared secret configured for the service (required)
//	LC_PROTOCOL       service (default) or extension: the webhook protocol
//	                  it is served with
//	LC_API_URL        the REST API base URL (default the LimaCharlie API);
//	                  used as an extension, to store the D&R rules that
//	                  deliver its daily tick and its detection
//	LC_LOG_LEVEL      debug, info (default), warn or error: the lowest
//	                  level logged
//	LC_DRAIN_DELAY    how long it keeps serving, unready, after SIGTERM
//	                  before it closes its listener (a Go duration; default
//	                  1s): as long as the load balancer takes to notice
//	PORT              the port to listen on (default 8080)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/lcsvc/lcservice/extension"
	"github.com/lcsvc/lcservice/service"
)

func main() {
	level, err := service.ParseLogLevel(os.Getenv("LC_LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic: LC_LOG_LEVEL:", err)
		os.Exit(2)
	}
	proto, err := extension.Select(os.Getenv("LC_PROTOCOL"), extension.WithAPIURL(os.Getenv("LC_API_URL")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic: LC_PROTOCOL:", err)
		os.Exit(2)
	}
	opts := []service.Option{proto, service.WithLogLevel(level)}
	if v := os.Getenv("LC_DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "basic: LC_DRAIN_DELAY=%q: use a duration such as 5s\n", v)
			os.Exit(2)
		}
		opts = append(opts, service.WithDrainDelay(d))
	}
	svc, err := newService(os.Getenv("LC_SHARED_SECRET"), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(2)
	}
	if err := svc.ListenAndServe(context.Background(), ""); err != nil {
		svc.Logger().Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// newService builds the service; tests call it directly.
func newService(secret string, opts ...service.Option) (*service.Service, error) {
	if secret == "" {
		return nil, fmt.Errorf("LC_SHARED_SECRET is not set: export the shared secret configured for this service in LimaCharlie")
	}
	svc, err := service.New("basic-example", secret, opts...)
	if err != nil {
		return nil, err
	}
	svc.SetRequestParams(requestParams)
	svc.PublishResource("suspicious-names", "lookup", suspiciousNames)
	svc.SubscribeDetections(detectionName)
	svc.OnRequest(handleRequest)
	svc.OnDetection(handleDetection)
	svc.OnOrgInstall(func(ctx context.Context, req *service.Request) service.Response {
		req.Logger().Info("installed in organization")
		return service.OK(nil)
	})
	svc.OnOrgUninstall(func(ctx context.Context, req *service.Request) service.Response {
		req.Logger().Info("removed from organization")
		return service.OK(nil)
	})
	svc.OnTick(service.OrgPer24h, handleDaily)
	return svc, nil
}

func handleDaily(ctx context.Context, req *service.Request) service.Response {
	req.Logger().Info("daily maintenance", slog.String("resource", "suspicious-names"))
	return service.OK(map[string]any{"checked": true})
}
