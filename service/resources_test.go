package service

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func TestGetResource(t *testing.T) {
	svc, _, _ := newTestService(t)
	yara := []byte("rule evil { condition: true }")
	lookup := []byte(`{"bad.example": true}`)
	svc.PublishResource("evil", "yara", yara)
	svc.PublishResource("domains", "lookup", lookup)
	hash := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	b64 := base64.StdEncoding.EncodeToString

	type one struct {
		Hash string `json:"hash"`
		Cat  string `json:"res_cat"`
		Data string `json:"res_data"`
	}
	t.Run("single with data", func(t *testing.T) {
		res := postSigned(t, svc, envelopeFor(GetResource, map[string]any{"resource": "evil", "is_include_data": true}))
		var got one
		must(t, json.Unmarshal(res.Data, &got))
		if !res.Success || got.Hash != hash(yara) || got.Cat != "yara" || got.Data != b64(yara) {
			t.Errorf("got %+v %s", res, res.Data)
		}
	})
	t.Run("single without data", func(t *testing.T) {
		res := postSigned(t, svc, envelopeFor(GetResource, map[string]any{"resource": "evil"}))
		if !res.Success || strings.Contains(string(res.Data), "res_data") || !strings.Contains(string(res.Data), hash(yara)) {
			t.Errorf("got %s", res.Data)
		}
	})
	t.Run("batch", func(t *testing.T) {
		res := postSigned(t, svc, envelopeFor(GetResource, map[string]any{"resource": []string{"evil", "domains"}, "is_include_data": true}))
		var got struct{ Resources map[string]one }
		must(t, json.Unmarshal(res.Data, &got))
		if !res.Success || got.Resources["domains"].Hash != hash(lookup) || got.Resources["domains"].Data != b64(lookup) ||
			got.Resources["evil"].Cat != "yara" {
			t.Errorf("got %s", res.Data)
		}
	})
	for name, data := range map[string]map[string]any{
		"unknown":       {"resource": "nope"},
		"unknown batch": {"resource": []string{"evil", "nope"}},
		"missing":       {},
		"wrong type":    {"resource": 5},
	} {
		t.Run(name, func(t *testing.T) {
			res := postSigned(t, svc, envelopeFor(GetResource, data))
			if res.Success || res.Retry || res.Error == "" {
				t.Errorf("got %+v", res)
			}
		})
	}
	if got := svc.ResourceURI("evil"); got != "lcr://service/test-svc/evil" {
		t.Errorf("ResourceURI = %s", got)
	}
	mustPanic(t, "a resource needs a name and a category", func() { svc.PublishResource("", "x", nil) })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
