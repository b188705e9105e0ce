package token_test

import (
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/internal/token"
)

func ExampleCodec() {
	codec, err := token.NewCodec("pkgscan", []byte("the service's shared secret"))
	if err != nil {
		log.Fatal(err)
	}
	// Tag a task: the sensor echoes this investigation_id on its answers.
	investigationID, err := codec.Encode(token.Token{
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
	// token: correlation token failed authentication
}
