package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/jsonscan"
)

func TestEnvelopeStrictKeys(t *testing.T) {
	svc, _, _ := newTestService(t)
	var got []EventType
	svc.OnOrgInstall(func(_ context.Context, r *Request) Response { got = append(got, r.EventType); return OK(nil) })
	svc.OnOrgUninstall(func(_ context.Context, r *Request) Response { got = append(got, r.EventType); return OK(nil) })
	for _, c := range []struct {
		name, body, wantErr string
	}{
		{"upper-case etype overriding", `{"etype":"org_install","ETYPE":"org_uninstall","data":{}}`, `field names are lowercase`},
		{"mixed-case alone", `{"EType":"org_install","data":{}}`, `field names are lowercase`},
		{"duplicate etype", `{"etype":"org_install","etype":"org_uninstall","data":{}}`, `"etype" appears twice`},
		{"duplicate by escape", `{"etype":"org_install","\u0065type":"org_uninstall"}`, `"etype" appears twice`},
		{"duplicate unknown", `{"etype":"org_install","x":1,"x":2}`, `"x" appears twice`},
		{"etype not a string", `{"etype":1}`, `expected a string`},
		{"version not an integer", `{"etype":"org_install","version":1.5}`, `not an integer`},
		{"deadline a string", `{"etype":"org_install","deadline":"soon"}`, `expected a number`},
		{"deadline 2^63", `{"etype":"org_install","deadline":9223372036854775808}`, `out of range`},
		{"deadline 1e400", `{"etype":"org_install","deadline":1e400}`, `out of range`},
		{"deadline year 10000", `{"etype":"org_install","deadline":253402300800}`, `out of range`},
		{"array", `[{"etype":"org_install"}]`, `not a webhook envelope`},
		{"trailing garbage", `{"etype":"org_install"} x`, `not valid JSON`},
		{"too many fields", `{` + manyFields(33) + `}`, `more than 32 fields`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			res := postRaw(t, svc, []byte(c.body), Sign([]byte(testSecret), []byte(c.body)))
			if res.Status != 400 || len(got) != 0 {
				t.Fatalf("status %d, handlers run %v; want 400 and none", res.Status, got)
			}
		})
		var env envelope
		if err := decodeEnvelope([]byte(c.body), &env); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
}

func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":0`)
	}
	return b.String()
}

func TestEnvelopeDecodesEveryField(t *testing.T) {
	body := `{ "version" : 1, "oid":"o\u0069d", "mid":"m-1", "deadline": 1700000000.25, "jwt":"j",
		"etype":"detection", "data": {"a":[1,"}"],"b":{"c":null}}, "extra":{"x":"\"y"} }`
	var env envelope
	if err := decodeEnvelope([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	want := time.Unix(1700000000, 250_000_000)
	if env.Version != 1 || env.OID != "oid" || env.MID != "m-1" || env.JWT != "j" || env.EType != Detection ||
		!env.Deadline.Equal(want) || string(env.Data) != `{"a":[1,"}"],"b":{"c":null}}` {
		t.Errorf("decoded %+v", env)
	}
	for body, want := range map[string]string{
		`{"data":null}`: "null", `{"data":"x"}`: `"x"`, `{"data":12}`: "12", `{}`: "",
	} {
		env = envelope{}
		if err := decodeEnvelope([]byte(body), &env); err != nil || string(env.Data) != want {
			t.Errorf("%s: data %q, %v", body, env.Data, err)
		}
	}
}

func TestDeadlineDefaultsAndBounds(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		deadline string
		want     time.Duration // from now
	}{
		{`null`, DefaultDeadline},
		{`0`, DefaultDeadline},
		{`-5`, DefaultDeadline},
		{`-1e300`, DefaultDeadline},
		{"", DefaultDeadline},
		{`1e11`, MaxHandlerTime},
	} {
		body := `{"etype":"org_install"}`
		if c.deadline != "" {
			body = `{"etype":"org_install","deadline":` + c.deadline + `}`
		}
		var env envelope
		if err := decodeEnvelope([]byte(body), &env); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := handlerDeadline(env.Deadline, now); got != now.Add(c.want) {
			t.Errorf("deadline %s: handler deadline %v after now, want %v", c.deadline, got.Sub(now), c.want)
		}
	}

	svc, _, _ := newTestService(t)
	var left time.Duration
	svc.OnOrgInstall(func(ctx context.Context, r *Request) Response {
		d, _ := ctx.Deadline()
		left = time.Until(d)
		return OK(nil)
	})
	env := envelopeFor(OrgInstall, nil)
	delete(env, "deadline")
	if res := postSigned(t, svc, env); !res.Success || left < DefaultDeadline-time.Minute || left > DefaultDeadline {
		t.Errorf("no deadline: %+v, handler had %v", res, left)
	}
	env["deadline"] = -1
	if res := postSigned(t, svc, env); !res.Success || left < DefaultDeadline-time.Minute {
		t.Errorf("negative deadline: %+v, handler had %v", res, left)
	}
}

// TestEnvelopeFallsBackToEncodingJSON checks that should the fast
// validator refuse a body encoding/json accepts, the body is still read:
// malformed means malformed to encoding/json.
func TestEnvelopeFallsBackToEncodingJSON(t *testing.T) {
	defer func(f func([]byte, func(k, v []byte) error) error) { scanObject = f }(scanObject)
	scanObject = func([]byte, func(k, v []byte) error) error { return jsonscan.ErrSyntax }
	var env envelope
	body := "{\"etype\":\"org_install\",\"mid\":\"m\xff\",\"data\":{\"a\":[1e400]}}"
	if err := decodeEnvelope([]byte(body), &env); err != nil || env.EType != OrgInstall || env.MID != "m\ufffd" || string(env.Data) != `{"a":[1e400]}` {
		t.Errorf("decoded %+v, %v", env, err)
	}
	for body, want := range map[string]string{
		`{"etype":"org_install"`: "not valid JSON",
		`[1]`:                    "not a webhook envelope",
		`{"etype":"org_install","etype":"health"}`: "appears twice",
	} {
		env = envelope{}
		if err := decodeEnvelope([]byte(body), &env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", body, err, want)
		}
	}
}
