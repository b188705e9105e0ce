package tasking_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/tasking"
)

func ExampleCodec() {
	codec, err := tasking.NewCodec("pkgscan", []byte("the service's shared secret"))
	if err != nil {
		log.Fatal(err)
	}
	// Tag a task: the sensor echoes this investigation_id on its answers.
	investigationID, err := codec.Encode(tasking.Token{
		ID:      uuid.New(),
		Handler: "packages",
		State:   []byte(`{"step":1}`),
		Expiry:  time.Now().Add(10 * time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(codec.Prefix())

	// Later, on the detection the answer caused:
	tok, err := codec.Decode(investigationID, time.Now())
	if err != nil {
		log.Fatal(err) // ErrNotOurs, ErrMalformed, ErrBadTag or ErrExpired
	}
	fmt.Println(tok.Handler, string(tok.State))

	// Anyone can write an investigation_id; only the service can sign one.
	_, err = codec.Decode("svc-pkgscan-ex/AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMk", time.Now())
	fmt.Println(err)
	// Output:
	// svc-pkgscan-ex/
	// packages {"step":1}
	// tasking: correlation token failed authentication
}

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
	// OID and JWT come from the webhook envelope being handled.
	auth := tasking.Auth{OID: "8cbe27f4-bfa1-4afb-ba19-138cd51389cd", JWT: "jwt-from-the-webhook"}
	err := client.Task(context.Background(), auth, tasking.TaskRequest{
		SID:             "6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f",
		Commands:        []string{"os_packages"},
		InvestigationID: "svc-pkgscan-ex/token",
	})
	fmt.Println(err)
	// Output:
	// POST /v1/6ad5e8c6-6c7d-4b3e-9b0f-1a2b3c4d5e6f [os_packages] svc-pkgscan-ex/token
	// <nil>
}

func ExampleReplicantRule() {
	rule := tasking.ReplicantRule("pkgscan")
	fmt.Println(rule.Namespace, rule.Name)
	fmt.Println(string(rule.Detect))
	fmt.Println(string(rule.Respond))
	// Output:
	// managed svc-pkgscan-ex
	// {"op":"and","rules":[{"op":"starts with","path":"routing/investigation_id","value":"svc-pkgscan-ex/"},{"op":"is","not":true,"path":"routing/event_type","value":"CLOUD_NOTIFICATION"}]}
	// [{"action":"report","name":"__svc-pkgscan-ex"}]
}
