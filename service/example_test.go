package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/lcsvc/lcservice/jobs"
	"github.com/lcsvc/lcservice/service"
)

func ExampleNew() {
	svc, err := service.New("hello", "the-shared-secret")
	if err != nil {
		log.Fatal(err)
	}
	svc.OnOrgInstall(func(ctx context.Context, req *service.Request) service.Response {
		req.Logger().Info("installed")
		return service.OK(nil)
	})
	// Serve it: service.ListenAndServe(ctx, svc, "") listens on $PORT.
	fmt.Println(svc.Name())
	// Output: hello
}

func ExampleHandlerFunc() {
	svc, _ := service.New("greeter", "the-shared-secret")
	_ = svc.SetRequestParams(service.Params{
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
