package service

import (
	"context"
	"strings"
	"testing"
)

func TestRequestParamValidation(t *testing.T) {
	const sid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	params := Params{
		"sid":   {Type: ParamSID, Required: true},
		"id":    {Type: ParamUUID},
		"n":     {Type: ParamInt},
		"ratio": {Type: ParamFloat},
		"name":  {Type: ParamStr},
		"force": {Type: ParamBool},
		"mode":  {Type: ParamEnum, Values: []string{"fast", "deep"}},
	}
	cases := []struct {
		name    string
		data    map[string]any
		wantErr string         // "" for success
		check   map[string]any // converted values the handler must see
	}{
		{"all valid", map[string]any{"sid": sid, "id": sid, "n": 3, "ratio": 0.5, "name": "x", "force": true, "mode": "deep"}, "",
			map[string]any{"sid": sid, "id": sid, "n": int64(3), "ratio": 0.5, "name": "x", "force": true, "mode": "deep"}},
		{"strings converted", map[string]any{"sid": sid, "n": "12", "ratio": "2.5", "force": "false"}, "",
			map[string]any{"n": int64(12), "ratio": 2.5, "force": false}},
		{"integral float is an int", map[string]any{"sid": sid, "n": 4.0}, "", map[string]any{"n": int64(4)}},
		{"optional absent", map[string]any{"sid": sid}, "", nil},
		{"optional null", map[string]any{"sid": sid, "n": nil}, "", nil},
		{"extra field kept", map[string]any{"sid": sid, "extra": "e"}, "", map[string]any{"extra": "e"}},
		{"missing required", map[string]any{"n": 1}, "missing parameter sid", nil},
		{"required null", map[string]any{"sid": nil}, "missing parameter sid", nil},
		{"sid not uuid", map[string]any{"sid": "host-1"}, "invalid parameter sid", nil},
		{"sid wrong type", map[string]any{"sid": 7}, "invalid parameter sid: expected sid, got a number", nil},
		{"uuid bad", map[string]any{"sid": sid, "id": "zz"}, "invalid parameter id", nil},
		{"sid as urn", map[string]any{"sid": "urn:uuid:" + sid}, "invalid parameter sid", nil},
		{"sid braced", map[string]any{"sid": "{" + sid + "}"}, "invalid parameter sid", nil},
		{"sid without hyphens", map[string]any{"sid": strings.ReplaceAll(sid, "-", "")}, "invalid parameter sid", nil},
		{"uuid braced", map[string]any{"sid": sid, "id": "{" + sid + "}"}, "invalid parameter id", nil},
		{"int fractional", map[string]any{"sid": sid, "n": 1.5}, "invalid parameter n", nil},
		{"int text", map[string]any{"sid": sid, "n": "three"}, "invalid parameter n", nil},
		{"int bool", map[string]any{"sid": sid, "n": true}, "invalid parameter n: expected int, got a boolean", nil},
		{"float text", map[string]any{"sid": sid, "ratio": "x"}, "invalid parameter ratio", nil},
		{"float list", map[string]any{"sid": sid, "ratio": []int{1}}, "invalid parameter ratio: expected float, got a list", nil},
		{"str number", map[string]any{"sid": sid, "name": 5}, "invalid parameter name: expected str, got a number", nil},
		{"bool text", map[string]any{"sid": sid, "force": "maybe"}, "invalid parameter force", nil},
		{"bool object", map[string]any{"sid": sid, "force": map[string]any{}}, "invalid parameter force: expected bool, got an object", nil},
		{"enum not listed", map[string]any{"sid": sid, "mode": "slow"}, `invalid parameter mode: "slow" is not one of [fast deep]`, nil},
		{"enum number", map[string]any{"sid": sid, "mode": 1}, "invalid parameter mode", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, _, _ := newTestService(t)
			svc.SetRequestParams(params)
			var got *Request
			svc.OnRequest(func(_ context.Context, r *Request) Response { got = r; return OK(nil) })
			res := postSigned(t, svc, envelopeFor(RequestEvent, c.data))
			if c.wantErr != "" {
				if res.Success || res.Retry || !strings.Contains(res.Error, c.wantErr) || got != nil {
					t.Fatalf("want error %q without the handler, got %+v (handler called: %v)", c.wantErr, res, got != nil)
				}
				return
			}
			if !res.Success || got == nil {
				t.Fatalf("want success, got %+v", res)
			}
			for k, want := range c.check {
				if v, _ := got.Param(k); v != want {
					t.Errorf("param %s = %#v (%T), want %#v (%T)", k, v, v, want, want)
				}
			}
		})
	}
}

func TestParamSchemaChecked(t *testing.T) {
	svc, _, _ := newTestService(t)
	mustPanic(t, `parameter "x": unknown type "number"`, func() { svc.SetRequestParams(Params{"x": {Type: "number"}}) })
	mustPanic(t, `parameter "x": an enum needs its list of values`, func() { svc.SetRequestParams(Params{"x": {Type: ParamEnum}}) })
	mustPanic(t, `parameter "x": values are only for enum parameters`, func() {
		svc.SetRequestParams(Params{"x": {Type: ParamStr, Values: []string{"a"}}})
	})
}

func TestTypedParamGetters(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.SetRequestParams(Params{"n": {Type: ParamInt}, "f": {Type: ParamFloat}, "b": {Type: ParamBool}, "s": {Type: ParamStr}})
	var n int64
	var f, fi float64
	var b bool
	var s string
	svc.OnRequest(func(_ context.Context, r *Request) Response {
		n, _ = r.Int("n")
		f, _ = r.Float("f")
		fi, _ = r.Float("n")
		b, _ = r.Bool("b")
		s = r.String("s")
		return OK(nil)
	})
	postSigned(t, svc, envelopeFor(RequestEvent, map[string]any{"n": 9, "f": 1.25, "b": true, "s": "hi"}))
	if n != 9 || f != 1.25 || fi != 9 || !b || s != "hi" {
		t.Errorf("getters: n=%d f=%v fi=%v b=%v s=%q", n, f, fi, b, s)
	}
}
