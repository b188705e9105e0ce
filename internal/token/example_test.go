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
	// Tag a task for sensor sid of organization oid: the sensor echoes
	// this investigation_id on its answers.
	const oid, sid = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	investigationID, err := codec.Encode(token.Token{
		ID:      uuid.New(),
		Handler: "packages",
		State:   []byte(`{"step":1}`),
		Expiry:  time.Now().Add(10 * time.Minute),
	}, oid, sid)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(codec.Prefix())

	// Later, on the detection the answer caused, with the organization and
	// sensor its routing names:
	tok, err := codec.Decode(investigationID, oid, sid, time.Now())
	if err != nil {
		log.Fatal(err) // ErrNotOurs, ErrMalformed, ErrBadTag or ErrExpired
	}
	fmt.Println(tok.Handler, string(tok.State))

	// Anyone can write an investigation_id; only the service can sign one,
	// and only for the sensor it tasked.
	_, err = codec.Decode("svc-pkgscan-ex/AgIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMk", oid, sid, time.Now())
	fmt.Println(err)
	_, err = codec.Decode(investigationID, oid, "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee", time.Now())
	fmt.Println(err)
	// Output:
	// svc-pkgscan-ex/
	// packages {"step":1}
	// token: correlation token failed authentication
	// token: correlation token failed authentication
}
