package lcsdk

import (
	"strings"
	"testing"

	"github.com/lcsvc/lcservice/tasking"
)

func TestOrganization(t *testing.T) {
	const oid = "8cbe27f4-bfa1-4afb-ba19-138cd51389cd"
	org, err := Organization(tasking.Org{ID: oid, JWT: "header.payload.signature"})
	if err != nil {
		t.Fatalf("Organization: %v", err)
	}
	if got := org.GetOID(); got != oid {
		t.Errorf("GetOID() = %q, want %q", got, oid)
	}
}

func TestOrganizationRefusesWhatTheSDKCannotUse(t *testing.T) {
	for name, c := range map[string]struct {
		org  tasking.Org
		want string
	}{
		"no organization": {tasking.Org{}, "no organization"},
		"no jwt":          {tasking.Org{ID: "8cbe27f4-bfa1-4afb-ba19-138cd51389cd"}, "Org.JWT is empty"},
		"oid not a uuid":  {tasking.Org{ID: "acme", JWT: "j"}, "building an SDK client for org acme"},
	} {
		if _, err := Organization(c.org); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
}
