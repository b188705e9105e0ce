package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// validCases are documents on the edges of the grammar, valid or not;
// the tests hold Valid to encoding/json's verdict on each.
var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `"x"`, `0`, `-0`, `1`, `-`, `01`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`,
	`-1.25e-300`, `1e400`, `-1e400`, `123456789012345678901234567890123456789012345678901234567890`,
	`0.000000000000000000000000000000000000000000000000000000000000000001e-999999999999`,
	`true`, `false`, `null`, `tru`, `nul`, `fals`, `truex`, `True`, `NaN`, `Infinity`, `-Infinity`,
	` {"a" : [1, 2.5, "x", null, true, false, {"b": {}}]} `, "\t\r\n{}\n", "\v{}", "\u00a0{}",
	`{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{'a':1}`, `{"a":1 "b":2}`, `[1 2]`,
	`{"a":1}}`, `[[]`, `]`, `}`, `{"a":[}`, `[{]}`, `{}{}`, `{} x`, `1 2`,
	`"\ud800"`, `"\udc00\ud800"`, `"\uD834\uDD1E"`, `"\u00e9"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\'"`, `"\/"`,
	`"\b\f\n\r\t\"\\"`, `"\`, `"abc`, `"a` + "\x00" + `b"`, `"a` + "\x1f" + `"`, `"a` + "\x7f" + `"`,
	"\"\xff\xfe\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"é\"", "{\"\xff\":1}",
	"\xef\xbb\xbf{}", `"long string with a quote \" inside and more text after it, past eight bytes"`,
	`"0123456789abcdef0123456789abcdef\\"`, `"0123456789abcdef` + "\n" + `0123456789abcdef"`,
	`{"PACKAGES":[{"PACKAGE_NAME":"package-name","PACKAGE_VERSION":"1.2.3-4ubuntu5"}]}`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
	strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
	strings.Repeat("[", MaxDepth-1) + `{"a":1}` + strings.Repeat("]", MaxDepth-1),
	strings.Repeat("[", MaxDepth) + `{"a":1}` + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", 20000),
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// Every prefix of a valid document is checked too: truncation is the
// commonest way for a body to be malformed.
func TestValidPrefixes(t *testing.T) {
	doc := []byte(`{"version":1,"data":{"a":[1,-2.5e+3,"x\"y\u00e9",null,true,false,{"b":{}}],"c":"` + "\xff" + `"}}`)
	for i := range len(doc) + 1 {
		if got, want := Valid(doc[:i]), json.Valid(doc[:i]); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", doc[:i], got, want)
		}
	}
}

// FuzzValid holds Valid to encoding/json's verdict on any input, and
// checks that ScanObject hands over exactly the members encoding/json
// sees and that the walking functions agree with it on valid objects.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		if got := Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
		var scanned [][2][]byte
		err := ScanObject(b, func(k, v []byte) error {
			scanned = append(scanned, [2][]byte{k, v})
			return nil
		})
		if !want {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("ScanObject(%q) = %v, want ErrSyntax", b, err)
			}
			return
		}
		var walked [][2][]byte
		isObj := Members(b, func(k, v []byte) bool {
			walked = append(walked, [2][]byte{k, v})
			return true
		})
		var m map[string]json.RawMessage
		objErr := json.Unmarshal(b, &m)
		if isObject := objErr == nil && m != nil; isObject != (err == nil) || isObject != isObj {
			t.Fatalf("%q: ScanObject %v, Members %v, encoding/json object error %v", b, err, isObj, objErr)
		}
		if err != nil {
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("ScanObject(%q) = %v, want ErrNotObject", b, err)
			}
			return
		}
		if fmt.Sprint(scanned) != fmt.Sprint(walked) {
			t.Fatalf("%q: ScanObject saw %q, Members %q", b, scanned, walked)
		}
		// Walking into every object value, and stopping some walks
		// early, must find the same values.
		var deep [][2][]byte
		n := 0
		Walk(b, func(k []byte, v *Value) bool {
			v.Walk(func(_ []byte, v *Value) bool {
				n++
				v.Walk(func([]byte, *Value) bool { return true })
				return n%3 != 0
			})
			deep = append(deep, [2][]byte{k, v.Raw()})
			return true
		})
		if fmt.Sprint(deep) != fmt.Sprint(walked) {
			t.Fatalf("%q: Walk into values saw %q, Members %q", b, deep, walked)
		}
		for _, kv := range scanned {
			k, ok := Unquote(kv[0])
			if !ok || !bytes.Equal(m[string(k)], kv[1]) && !lastOf(scanned, string(k), kv[1]) {
				t.Fatalf("%q: member %q = %q, encoding/json has %q", b, kv[0], kv[1], m[string(k)])
			}
			if Skip(kv[1], 0) != len(kv[1]) {
				t.Fatalf("%q: Skip(%q) = %d", b, kv[1], Skip(kv[1], 0))
			}
		}
	})
}

// lastOf reports whether v is not the last value of key in members (a
// duplicate key: encoding/json keeps the last).
func lastOf(members [][2][]byte, key string, v []byte) bool {
	last := []byte(nil)
	for _, kv := range members {
		if k, _ := Unquote(kv[0]); string(k) == key {
			last = kv[1]
		}
	}
	return !bytes.Equal(last, v)
}

func TestScanObject(t *testing.T) {
	body := []byte(` { "a" : [1,{"x":"}"}], "b\"c":{"d":{"e":null}}, "f":"g" , "h":-1.5e3 } `)
	var got []string
	if err := ScanObject(body, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{`"a"=[1,{"x":"}"}]`, `"b\"c"={"d":{"e":null}}`, `"f"="g"`, `"h"=-1.5e3`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("members %q, want %q", got, want)
	}

	stop := errors.New("stop")
	n := 0
	if err := ScanObject(body, func(k, v []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("callback error: %v after %d members, want stop after 1", err, n)
	}
	for _, c := range []struct {
		body string
		want error
	}{{`[]`, ErrNotObject}, {`"x"`, ErrNotObject}, {`null`, ErrNotObject}, {`{`, ErrSyntax}, {`{"a":1} {}`, ErrSyntax}} {
		if err := ScanObject([]byte(c.body), nil); err != c.want {
			t.Errorf("ScanObject(%s) = %v, want %v", c.body, err, c.want)
		}
	}
}

func TestMembersStopsAndRefusesNonObjects(t *testing.T) {
	n := 0
	if !Members([]byte(`{"a":1,"b":2,"c":3}`), func(k, v []byte) bool { n++; return string(k) != `"b"` }) || n != 2 {
		t.Errorf("Members went through %d members, want to stop at the second", n)
	}
	for _, s := range []string{`[]`, `"{}"`, ``, `  `, `null`} {
		if Members([]byte(s), func(k, v []byte) bool { t.Errorf("%s: member %s", s, k); return true }) {
			t.Errorf("Members(%q) reported an object", s)
		}
	}
	if !Members([]byte(` {} `), func(k, v []byte) bool { t.Error("member of {}"); return true }) {
		t.Error("Members({}) reported no object")
	}
}

func TestUnquote(t *testing.T) {
	for lit, want := range map[string]string{
		`"plain"`: "plain", `""`: "", `"\u0065vent"`: "event", `"a\"b"`: `a"b`, `"\ud800"`: "\ufffd",
		"\"\xff\"": "\ufffd", `"\uD834\uDD1E"`: "\U0001D11E",
	} {
		got, ok := Unquote([]byte(lit))
		if !ok || string(got) != want {
			t.Errorf("Unquote(%s) = %q, %v; want %q", lit, got, ok, want)
		}
	}
	for _, lit := range []string{``, `"`, `x`, `"\x"`, `12`} {
		if _, ok := Unquote([]byte(lit)); ok {
			t.Errorf("Unquote(%s) accepted", lit)
		}
	}
}

// TestFieldMatches holds FieldMatches to encoding/json's choice of field
// for keys that differ from the name in case, including runes outside
// ASCII that encoding/json folds onto ASCII letters.
func TestFieldMatches(t *testing.T) {
	keys := []string{"routing", "ROUTING", "Routing", "rout\u0130ng", "rout\u0131ng", "routing ", "routin", "",
		"ERROR_MESSAGE", "error_message", "ERROR_ME\u017f\u017fAGE", "\u212aey", "key", "KEY", "ke", "\u00e9", "\u00c9"}
	for _, name := range []string{"routing", "ERROR_MESSAGE", "key", "\u00e9"} {
		typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[*int](), Tag: reflect.StructTag(`json:"` + name + `"`)}})
		for _, key := range keys {
			v := reflect.New(typ)
			lit, _ := json.Marshal(key)
			if err := json.Unmarshal([]byte(`{`+string(lit)+`:1}`), v.Interface()); err != nil {
				t.Fatal(err)
			}
			want := !v.Elem().Field(0).IsNil()
			if got := FieldMatches([]byte(key), name); got != want {
				t.Errorf("FieldMatches(%q, %q) = %v, encoding/json %v", key, name, got, want)
			}
		}
	}
}

// FuzzAppendString holds AppendString to encoding/json's encoding of the
// same string, byte for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "tab\there\nnl\r\b\f\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "é\U0001D11E", "\xed\xa0\x80", `back\slash`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got[1:], want)
		}
	})
}

func TestAppendCompact(t *testing.T) {
	got, err := AppendCompact([]byte(`[`), []byte(" { \"a\" : [ 1 , \"b c\" ] } "))
	if err != nil || string(got) != `[{"a":[1,"b c"]}` {
		t.Errorf("AppendCompact = %s, %v", got, err)
	}
	got, err = AppendCompact([]byte(`[`), []byte(`{"a":`))
	if err == nil || string(got) != `[` {
		t.Errorf("AppendCompact of bad JSON = %s, %v", got, err)
	}
}

func TestScanNested(t *testing.T) {
	doc := []byte(`{"a": {"x": 1, "y": {"deep": 2}}, "b": [ {"no": 1} ], "c": "s", "d": {}, "e": {"z": [1, {"w": 3}]}}`)
	var got []string
	err := ScanNested(doc, func(k, v []byte) error {
		got = append(got, "member "+string(k)+"="+string(v))
		return nil
	}, func(p, k, v []byte) error {
		got = append(got, "nested "+string(p)+"."+string(k)+"="+string(v))
		return nil
	})
	want := []string{
		`nested "a"."x"=1`,
		`nested "a"."y"={"deep": 2}`,
		`member "a"={"x": 1, "y": {"deep": 2}}`,
		`member "b"=[ {"no": 1} ]`,
		`member "c"="s"`,
		`member "d"={}`,
		`nested "e"."z"=[1, {"w": 3}]`,
		`member "e"={"z": [1, {"w": 3}]}`,
	}
	if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("err %v, got\n%s\nwant\n%s", err, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`[{"a":{"b":1}}]`, `{"a":{"b":1}`, `{"a":{"b":}}`} {
		calls := 0
		err := ScanNested([]byte(bad), nil, func(_, _, _ []byte) error { calls++; return nil })
		if err == nil {
			t.Errorf("%s accepted", bad)
		}
		if bad[0] == '[' && calls != 0 {
			t.Errorf("%s: members of an array's objects reported", bad)
		}
	}
	stop := errors.New("stop")
	if err := ScanNested(doc, nil, func(_, _, _ []byte) error { return stop }); err != stop {
		t.Errorf("nested's error: %v", err)
	}
}
