package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

// A service answers the cloud's signed webhooks over HTTP. Here it serves
// on a loopback listener (ListenAndServe listens on $PORT), answers one
// signed org_install, then stops when its context ends.
func ExampleService_Serve() {
	svc, err := service.New("hello", "the-shared-secret", service.WithLogOutput(io.Discard, io.Discard))
	if err != nil {
		log.Fatal(err)
	}
	svc.OnOrgInstall(func(ctx context.Context, req *service.Request) service.Response {
		return service.OK(map[string]string{"welcome": req.OID})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln) }()

	// The cloud's side: a signed webhook.
	body := []byte(`{"version":1,"oid":"11111111-2222-3333-4444-555555555555","mid":"m1","jwt":"j","etype":"org_install","data":{}}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", bytes.NewReader(body))
	req.Header.Set(service.SignatureHeader, service.Sign([]byte("the-shared-secret"), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(answer))

	stop() // SIGTERM does the same in production
	fmt.Println("stopped:", <-served)
	// Output:
	// 200 {"success":true,"retry":false,"data":{"welcome":"11111111-2222-3333-4444-555555555555"}}
	// stopped: <nil>
}

func ExampleHandlerFunc() {
	svc, _ := service.New("greeter", "the-shared-secret")
	svc.SetRequestParams(service.Params{
		"name": {Type: service.ParamStr, Description: "who to greet", Required: true},
	})
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		return service.OK(map[string]string{"greeting": "hello " + req.String("name")})
	})

	// Deliver a signed request, as the cloud would.
	body := `{"version":1,"oid":"11111111-2222-3333-4444-555555555555","etype":"request","data":{"name":"Ada"}}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set(service.SignatureHeader, service.Sign([]byte("the-shared-secret"), []byte(body)))
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: {"success":true,"retry":false,"data":{"greeting":"hello Ada"}}
}

func ExampleResponse_WithJobs() {
	svc, _ := service.New("inventory", "the-shared-secret")
	svc.OnRequest(func(ctx context.Context, req *service.Request) service.Response {
		job := jobs.New()
		job.SetCause("inventory requested")
		table := jobs.NewTable("hosts", "hostname", "platform")
		table.AddRow("web-1", "linux")
		job.Narrate("inventory complete", false, table)
		job.Close()
		return service.OK(nil).WithJobs(job)
	})

	body := `{"version":1,"oid":"11111111-2222-3333-4444-555555555555","etype":"request","data":{}}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set(service.SignatureHeader, service.Sign([]byte("the-shared-secret"), []byte(body)))
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)

	var resp struct {
		Jobs []struct {
			Cause string `json:"cause"`
			Hist  []struct {
				Msg         string `json:"msg"`
				Attachments []struct {
					Type string     `json:"att_type"`
					Rows [][]string `json:"rows"`
				} `json:"attachments"`
			} `json:"hist"`
		} `json:"jobs"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &resp)
	j := resp.Jobs[0]
	fmt.Println(j.Cause, "/", j.Hist[0].Msg, "/", j.Hist[0].Attachments[0].Type, j.Hist[0].Attachments[0].Rows)
	// Output: inventory requested / inventory complete / table [[web-1 linux]]
}
