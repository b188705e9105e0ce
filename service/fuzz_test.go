package service

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeEnvelope feeds arbitrary bodies to the envelope decoder. It
// must never panic, and whatever it accepts must read the same under
// encoding/json: strictness may only refuse, never reinterpret.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"oid":"o","mid":"m","deadline":1700000000.5,"jwt":"j","etype":"request","data":{"sid":"x"}}`,
		`{"etype":"org_install","ETYPE":"health"}`,
		`{"etype":"a","etype":"b"}`,
		`{"deadline":9223372036854775808}`,
		`{"deadline":-1,"data":null,"x":[{"y":"\"}"}]}`,
		`{"\u0065type":"health","data":"\ud800"}`,
		`{"verſion":2}`,
		` { } `, `[]`, `"x"`, `{"data":{"a":[[[]]]}}`, `{"mid":"\xff"}`,
		"{\"data\":\"\xff\\ud800\",\"x\":1e400}", `{"etype":"a"} x`, `{"data":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}`,
		`{"data":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var env envelope
		if err := decodeEnvelope(body, &env); err != nil {
			// Only encoding/json's verdict makes a body malformed.
			if strings.Contains(err.Error(), "not valid JSON") == json.Valid(body) {
				t.Fatalf("%q: %v, while encoding/json's Valid says %v", body, err, json.Valid(body))
			}
			return
		}
		var loose struct {
			Version  int             `json:"version"`
			OID      string          `json:"oid"`
			MID      string          `json:"mid"`
			Deadline *float64        `json:"deadline"`
			JWT      string          `json:"jwt"`
			EType    string          `json:"etype"`
			Data     json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &loose); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if loose.Version != env.Version || loose.OID != env.OID || loose.MID != env.MID || loose.JWT != env.JWT ||
			loose.EType != string(env.EType) || !bytes.Equal(loose.Data, env.Data) {
			t.Fatalf("%q: strict %+v, encoding/json %+v", body, env, loose)
		}
		if len(env.Data) > 0 && !json.Valid(env.Data) {
			t.Fatalf("%q: data %q is not JSON", body, env.Data)
		}
		switch d := loose.Deadline; {
		case d == nil || *d <= 0:
			if !env.Deadline.IsZero() {
				t.Fatalf("%q: deadline %v, want none", body, env.Deadline)
			}
		default:
			want := time.Unix(int64(math.Floor(*d)), 0)
			if env.Deadline.Truncate(time.Second) != want {
				t.Fatalf("%q: deadline %v, want %v", body, env.Deadline, want)
			}
		}
	})
}

// fuzzParams is the schema the parameter fuzzers validate against: one
// parameter of every type.
var fuzzParams = Params{
	"i": {Type: ParamInt}, "f": {Type: ParamFloat}, "s": {Type: ParamStr, Required: true},
	"b": {Type: ParamBool}, "e": {Type: ParamEnum, Values: []string{"x", "y"}},
	"u": {Type: ParamUUID}, "sid": {Type: ParamSID},
}

// checkParams fails t unless every declared parameter in p has its Go type.
func checkParams(t *testing.T, data []byte, p map[string]any) {
	t.Helper()
	for name, spec := range fuzzParams {
		v, ok := p[name]
		if !ok || v == nil {
			if spec.Required {
				t.Fatalf("%q: required %s accepted while absent", data, name)
			}
			continue
		}
		var good bool
		switch spec.Type {
		case ParamInt:
			_, good = v.(int64)
		case ParamFloat:
			_, good = v.(float64)
		case ParamBool:
			_, good = v.(bool)
		case ParamEnum:
			good = v == "x" || v == "y"
		case ParamStr:
			_, good = v.(string)
		case ParamUUID, ParamSID:
			s, _ := v.(string)
			good = len(s) == 36
		}
		if !good {
			t.Fatalf("%q: parameter %s accepted as %#v", data, name, v)
		}
	}
}

// FuzzRequestParams validates arbitrary request data against a schema
// with every parameter type: no panic, and what passes has its types.
func FuzzRequestParams(f *testing.F) {
	for _, s := range []string{
		`{"s":"a","i":3,"f":1.5,"b":true,"e":"x","u":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`,
		`{"s":"a","i":"42","b":"false","f":"1e3"}`,
		`{"s":"a","sid":"urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`,
		`{"s":"a","sid":"{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}"}`,
		`{"s":"a","i":9007199254740993}`, `{"s":null}`, `[]`, `null`, `{"s":"a","i":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := fuzzParams.validate(data)
		if err != nil {
			return
		}
		checkParams(t, data, p)
	})
}

// FuzzCommandArgs sends arbitrary command data through the command path
// (command_name lookup, argument validation, handler): no panic, and a
// handler that runs sees its arguments typed.
func FuzzCommandArgs(f *testing.F) {
	for _, s := range []string{
		`{"command_name":"scan","s":"a","i":2}`,
		`{"command_name":"nope"}`,
		`{"command_name":7}`,
		`{"command_name":"scan","s":"a","sid":"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"}`,
		`{}`, `"scan"`,
	} {
		f.Add([]byte(s))
	}
	svc, err := New("fuzz", testSecret, WithLogOutput(discard{}, discard{}))
	if err != nil {
		f.Fatal(err)
	}
	var data []byte
	var t0 *testing.T
	svc.AddCommand(Command{Name: "scan", Args: fuzzParams, Handler: func(_ context.Context, r *Request) Response {
		p := map[string]any{}
		for name := range fuzzParams {
			if v, ok := r.Param(name); ok {
				p[name] = v
			}
		}
		checkParams(t0, data, p)
		return OK(nil)
	}})
	f.Fuzz(func(t *testing.T, d []byte) {
		data, t0 = d, t
		svc.handleCommand(context.Background(), &Request{EventType: CommandEvent, Data: d})
	})
}

// FuzzWebhook posts arbitrary signed bodies through the whole HTTP
// handler: whatever the body, the answer is a status the protocol knows
// and the process does not panic.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"version":1,"etype":"health","data":{}}`))
	f.Add([]byte(`{"version":1,"oid":"o","mid":"m","etype":"request","data":{"s":"a"}}`))
	f.Add([]byte(`{"version":1,"etype":"command","data":{"command_name":"scan"}}`))
	f.Add([]byte(`{"version":1,"etype":"get_resource","data":{"resource":["r"]}}`))
	svc, err := New("fuzz", testSecret, WithLogOutput(discard{}, discard{}))
	if err != nil {
		f.Fatal(err)
	}
	svc.SetRequestParams(fuzzParams)
	svc.OnRequest(func(context.Context, *Request) Response { return OK(nil) })
	svc.AddCommand(Command{Name: "scan", Args: fuzzParams, Handler: func(context.Context, *Request) Response { return OK(nil) }})
	svc.PublishResource("r", "c", []byte("x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, Sign([]byte(testSecret), body))
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400:
		default:
			t.Fatalf("%q: status %d", body, rec.Code)
		}
		if rec.Code == 200 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q: answer is not JSON: %s", body, rec.Body)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
