package service

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// health posts a signed health webhook and decodes its data.
func health(t *testing.T, svc *Service) healthWire {
	t.Helper()
	res := postSigned(t, svc, envelopeFor(Health, nil))
	if !res.Success {
		t.Fatalf("health failed: %+v", res)
	}
	var h healthWire
	if err := json.Unmarshal(res.Data, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHealthMetadata(t *testing.T) {
	before := time.Now().Unix()
	svc, _, _ := newTestService(t, WithVersion(3))
	h := func(context.Context, *Request) Response { return OK(nil) }
	svc.OnRequest(h)
	svc.OnDetection(h)
	svc.SubscribeDetections("ransomware", "lateral", "ransomware", "")
	params := Params{"sid": {Type: ParamSID, Description: "sensor", Required: true, Index: 1}}
	svc.SetRequestParams(params)
	svc.AddCommand(Command{Name: "scan", Description: "scan a host", Args: Params{"depth": {Type: ParamInt, Description: "how deep"}}, Handler: h})
	svc.PublishResource("rules", "detect", []byte("x"))

	// Raw JSON first: the field names are the protocol's.
	res := postSigned(t, svc, envelopeFor(Health, nil))
	var raw map[string]any
	if err := json.Unmarshal(res.Data, &raw); err != nil {
		t.Fatal(err)
	}
	mtd, _ := raw["mtd"].(map[string]any)
	for _, k := range []string{"detect_subscriptions", "callbacks", "request_params", "commands"} {
		if _, ok := mtd[k]; !ok {
			t.Errorf("health mtd lacks %q: %s", k, res.Data)
		}
	}
	for _, k := range []string{"version", "start_time", "calls_in_progress"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("health lacks %q: %s", k, res.Data)
		}
	}

	got := health(t, svc)
	if got.Version != 3 || got.StartTime < before || got.StartTime > time.Now().Unix() || got.CallsInProgress != 0 {
		t.Errorf("health header = %+v", got)
	}
	if s := got.Metadata.DetectSubscriptions; len(s) != 2 || s[0] != "ransomware" || s[1] != "lateral" {
		t.Errorf("detect_subscriptions = %v", s)
	}
	wantCallbacks := []EventType{Health, Detection, RequestEvent, GetResource, CommandEvent}
	if !equalEtypes(got.Metadata.Callbacks, wantCallbacks) {
		t.Errorf("callbacks = %v, want %v", got.Metadata.Callbacks, wantCallbacks)
	}
	if p := got.Metadata.RequestParams["sid"]; p.Type != ParamSID || !p.Required || p.Index != 1 || p.Description != "sensor" {
		t.Errorf("request_params = %+v", got.Metadata.RequestParams)
	}
	c := got.Metadata.Commands["scan"]
	if c.Name != "scan" || c.Desc != "scan a host" || c.Args["depth"].Type != ParamInt {
		t.Errorf("commands = %+v", got.Metadata.Commands)
	}
}

func TestHealthOfEmptyService(t *testing.T) {
	svc, _, _ := newTestService(t)
	res := postSigned(t, svc, envelopeFor(Health, nil))
	want := `"mtd":{"detect_subscriptions":[],"callbacks":["health"],"request_params":{},"commands":{}}`
	if !strings.Contains(string(res.Data), want) {
		t.Errorf("empty health = %s, want it to contain %s", res.Data, want)
	}
}
