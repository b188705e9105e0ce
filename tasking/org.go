package tasking

import (
	"errors"
	"fmt"
)

// Org is an organization the service may act on: its id and the JWT the
// platform sent with the message being handled. Every webhook of an
// organization carries one (service.Request.Org), and every call of a
// Client takes one.
//
// The JWT is scoped to the service's permissions and lasts about 30
// minutes; a service cannot renew it, so an Org is good for calls made
// while handling a recent message. Never log the JWT: Org's String and
// GoString print the id only.
type Org struct {
	ID  string // the organization id (oid), a UUID
	JWT string // the bearer token for the REST API
}

// Valid reports what keeps o from authenticating a call, or nil.
func (o Org) Valid() error {
	switch {
	case o.ID == "" && o.JWT == "":
		return errors.New("tasking: no organization: this message carries no oid and jwt (health and once_per_* events have none)")
	case o.ID == "":
		return errors.New("tasking: Org.ID is empty: pass the oid of the message being handled")
	case o.JWT == "":
		return fmt.Errorf("tasking: Org.JWT is empty for org %s: pass the jwt of the message being handled", o.ID)
	}
	return nil
}

// String returns the organization id; the JWT is never printed.
func (o Org) String() string { return o.ID }

// GoString is String for %#v, so a debug print cannot leak the JWT.
func (o Org) GoString() string { return fmt.Sprintf("tasking.Org{ID: %q, JWT: <redacted>}", o.ID) }
