package tasking_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/lcsvc/lcservice/tasking"
)

func ExampleClient_Task() {
	// A stand-in for the LimaCharlie API (or use lctest's emulated cloud).
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		fmt.Println(r.Method, r.URL.Path, form["tasks"], form.Get("investigation_id"))
		io.WriteString(w, "{}")
	}))
	defer api.Close()

	client := tasking.NewClient(tasking.WithBaseURL(api.URL))
	// The org id and JWT come with the webhook being handled: req.Org().
	org := tasking.Org{ID: "8cbe27f4-bfa1-4afb-ba19-138cd51389cd", JWT: "jwt-from-the-webhook"}
	err := client.Task(context.Background(), org, tasking.TaskRequest{
		SID:             "6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f",
		Commands:        []string{"os_packages"},
		InvestigationID: "svc-pkgscan-ex/token",
	})
	fmt.Println(err)
	// Output:
	// POST /v1/6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f [os_packages] svc-pkgscan-ex/token
	// <nil>
}
