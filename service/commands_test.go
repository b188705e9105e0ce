package service

import (
	"context"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	svc, _, _ := newTestService(t)
	var got *Request
	svc.AddCommand(Command{
		Name:        "isolate",
		Description: "isolate a sensor",
		Args: Params{
			"sid":    {Type: ParamSID, Required: true},
			"reason": {Type: ParamEnum, Values: []string{"malware", "test"}},
		},
		Handler: func(_ context.Context, r *Request) Response { got = r; return OK(map[string]string{"done": r.SID()}) },
	})
	const sid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	cases := []struct {
		name    string
		data    map[string]any
		wantErr string
	}{
		{"valid", map[string]any{"command_name": "isolate", "sid": sid, "reason": "test", "rid": "r1", "cid": "c1"}, ""},
		{"missing arg", map[string]any{"command_name": "isolate"}, "missing parameter sid"},
		{"bad enum", map[string]any{"command_name": "isolate", "sid": sid, "reason": "fun"}, "invalid parameter reason"},
		{"unknown command", map[string]any{"command_name": "reboot"}, `unknown command "reboot"`},
		{"no command name", map[string]any{"sid": sid}, "missing parameter command_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			res := postSigned(t, svc, envelopeFor(CommandEvent, c.data))
			if c.wantErr != "" {
				if res.Success || !strings.Contains(res.Error, c.wantErr) || got != nil {
					t.Errorf("want %q, got %+v (handler called %v)", c.wantErr, res, got != nil)
				}
				return
			}
			if !res.Success || got == nil || got.CommandName != "isolate" || got.SID() != sid || got.String("rid") != "r1" {
				t.Errorf("got %+v, request %+v", res, got)
			}
		})
	}
}

func TestAddCommandRefusesBadDefinitions(t *testing.T) {
	svc, _, _ := newTestService(t)
	h := func(context.Context, *Request) Response { return OK(nil) }
	mustPanic(t, "the command needs a name", func() { svc.AddCommand(Command{Handler: h}) })
	mustPanic(t, `command "x" needs a handler`, func() { svc.AddCommand(Command{Name: "x"}) })
	mustPanic(t, `command "x": parameter "a": unknown type "blob"`, func() {
		svc.AddCommand(Command{Name: "x", Handler: h, Args: Params{"a": {Type: "blob"}}})
	})
}
