package uuidtext

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestParseAndFormat(t *testing.T) {
	for range 1000 {
		s := uuid.NewString()
		u, ok := Parse(s)
		if !ok || u != uuid.MustParse(s) || Format(u) != s {
			t.Fatalf("Parse(%q) = %x, %v; Format gives %q", s, u, ok, Format(u))
		}
	}
	if s := uuid.Nil.String(); Format([16]byte{}) != s {
		t.Errorf("Format(zero) = %q, want %q", Format([16]byte{}), s)
	}
	s := "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	for _, other := range []string{
		"",
		strings.ToUpper(s),
		"0F1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", // one uppercase digit
		"{" + s + "}",
		"urn:uuid:" + s,
		strings.ReplaceAll(s, "-", ""),
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1/0",
		"0f1e2d3c-4b5a-6978-8796a-5b4c3d2e1f0",
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", // short
		s + "0",
	} {
		if u, ok := Parse(other); ok || u != [16]byte{} {
			t.Errorf("Parse(%q) = %x, want not in canonical form", other, u)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	f.Add("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := Parse(s)
		want, err := uuid.Parse(s)
		canonical := err == nil && want.String() == s
		if ok != canonical || ok && (u != want || Format(u) != s) || !ok && u != [16]byte{} {
			t.Errorf("Parse(%q) = %x, %v; uuid.Parse gives %v, %v", s, u, ok, want, err)
		}
	})
}
