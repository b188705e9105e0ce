// Package lcsdk hands an organization to the full LimaCharlie Go SDK
// (github.com/refractionPOINT/go-limacharlie), for handlers that need more
// of the API than the framework's own client offers: sensors, outputs,
// Hive records, artifacts and so on.
//
// It lives in a package of its own so that a service that does not need the
// SDK does not build it: the service and interactive packages never import
// it.
//
// The SDK's API address is fixed inside the SDK, so an Organization made
// here always talks to the real LimaCharlie cloud; it cannot be pointed at
// lctest's emulated cloud or at lcsim emulate. Keep the calls tests must
// exercise on the framework's client (package tasking), or put them behind
// an interface of your own that a test can replace.
package lcsdk

import (
	"fmt"

	"github.com/refractionPOINT/go-limacharlie/limacharlie"

	"github.com/lcsvc/lcservice/tasking"
)

// Organization returns an SDK Organization authenticated with org's JWT —
// the JWT of the message being handled, so it is good for about 30
// minutes and carries the service's permissions only. Building it makes no
// network call.
func Organization(org tasking.Org) (*limacharlie.Organization, error) {
	if err := org.Valid(); err != nil {
		return nil, fmt.Errorf("lcsdk: %w", err)
	}
	c, err := limacharlie.NewClientFromLoader(limacharlie.ClientOptions{OID: org.ID, JWT: org.JWT}, &limacharlie.LCLoggerEmpty{})
	if err != nil {
		return nil, fmt.Errorf("lcsdk: building an SDK client for org %s: %w", org.ID, err)
	}
	return limacharlie.NewOrganization(c)
}
