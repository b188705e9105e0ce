package tasking

import (
	"fmt"
	"strings"
	"testing"
)

func TestOrgValid(t *testing.T) {
	tests := []struct {
		org  Org
		want string // "" for valid
	}{
		{Org{ID: testOID, JWT: testJWT}, ""},
		{Org{}, "no organization"},
		{Org{JWT: testJWT}, "Org.ID is empty"},
		{Org{ID: testOID}, "Org.JWT is empty for org " + testOID},
	}
	for _, tt := range tests {
		err := tt.org.Valid()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: Valid() = %v, want nil", tt.org, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: Valid() = %v, want an error containing %q", tt.org, err, tt.want)
		}
	}
}

func TestOrgNeverPrintsItsJWT(t *testing.T) {
	o := Org{ID: testOID, JWT: testJWT}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		got := fmt.Sprintf(format, o)
		if strings.Contains(got, testJWT) || !strings.Contains(got, testOID) {
			t.Errorf("Sprintf(%q) = %q: want the id and not the JWT", format, got)
		}
	}
}
