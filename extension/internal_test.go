package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestLevelOf(t *testing.T) {
	for key, want := range map[string]int{"": 0, "abc": 0, "abc:3": 3, "a:b:10": 10, "abc:x": 0, "abc:-1": 0, "abc:0": 0, "k:11": 0, "k:99999": 0} {
		if got := levelOf(key); got != want {
			t.Errorf("levelOf(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestMemoryIdempotency(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemoryIdempotency(MemoryIdempotencyOptions{Keys: 3, TTL: time.Minute, Bytes: 100, MaxEntry: 60, Now: func() time.Time { return now }})
	ctx := context.Background()
	if a, err := m.Begin(ctx, "a"); a != nil || err != nil {
		t.Fatal(a, err)
	}
	if _, err := m.Begin(ctx, "a"); !errors.Is(err, ErrInProgress) {
		t.Fatal(err)
	}
	_ = m.Finish(ctx, "a", Answer{Status: 200, Body: []byte("answer-a")})
	if a, _ := m.Begin(ctx, "a"); a == nil || string(a.Body) != "answer-a" {
		t.Fatalf("recorded: %+v", a)
	}
	_, _ = m.Begin(ctx, "b")
	_ = m.Abandon(ctx, "b")
	if a, err := m.Begin(ctx, "b"); a != nil || err != nil {
		t.Fatal("abandoned key not free", a, err)
	}
	_ = m.Finish(ctx, "b", Answer{Status: 400, Body: bytes.Repeat([]byte("b"), 61)})
	if a, _ := m.Begin(ctx, "b"); a == nil || a.Body != nil || a.Status != 400 {
		t.Fatalf("too large to keep: %+v", a)
	}
	// The byte budget pushes out the least recently used answers.
	_, _ = m.Begin(ctx, "c")
	_ = m.Finish(ctx, "c", Answer{Status: 200, Body: bytes.Repeat([]byte("c"), 50)})
	_, _ = m.Begin(ctx, "d")
	_ = m.Finish(ctx, "d", Answer{Status: 200, Body: bytes.Repeat([]byte("d"), 50)})
	if a, _ := m.Begin(ctx, "a"); a != nil {
		t.Errorf("a survived the budget: %+v", a)
	}
	if m.Len() > 3 {
		t.Errorf("%d keys, bound 3", m.Len())
	}
	// Keys expire.
	now = now.Add(2 * time.Minute)
	if a, err := m.Begin(ctx, "d"); a != nil || err != nil {
		t.Errorf("expired key still answered: %+v %v", a, err)
	}
}

func TestDecodeMessage(t *testing.T) {
	m, k, err := decodeMessage([]byte(`{"version":20221218,"idempotency_key":"k","request":{"org":{"oid":"o","jwt":"j","ident":"i"},"action":"a","data":{"x":1},"inv_id":"inv"}}`))
	if err != nil || k != kindRequest || m.Request.Action != "a" || string(m.Request.Data) != `{"x":1}` || m.Request.Org.JWT != "j" || m.Request.InvID != "inv" {
		t.Fatalf("%+v %v %v", m, k, err)
	}
	long := `{"heartbeat":{},"idempotency_key":"` + string(bytes.Repeat([]byte("k"), maxKeyLen+1)) + `"}`
	if _, _, err := decodeMessage([]byte(long)); err == nil {
		t.Error("long key accepted")
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"heartbeat":{}}`,
		`{"version":20221218,"idempotency_key":"k:1","request":{"org":{"oid":"o","jwt":"j"},"action":"request","data":{"sid":"x"}}}`,
		`{"event":{"org":{"oid":"o"},"event_name":"subscribe","data":{}}}`,
		`{"schema_request":{},"heartbeat":{}}`,
		`{"error_report":{"error":"e","oid":"o"}}`,
		`{"conf_validation":{"org":{},"conf":{"a":[1,2]}}}`,
		`[]`, `null`, `{"request":null}`, `{"request":{"data":"not an object"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, k, err := decodeMessage(body)
		if err != nil {
			if m != nil || k != "" {
				t.Fatalf("error with a result: %v %v", m, k)
			}
			return
		}
		n := 0
		for _, present := range []bool{m.Heartbeat != nil, m.ErrorReport != nil, m.ConfValidation != nil, m.SchemaRequest != nil, m.Request != nil, m.Event != nil} {
			if present {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d kinds decoded as %q", n, k)
		}
		if len(m.IdempotencyKey) > maxKeyLen {
			t.Fatal("key over the bound")
		}
		if m.Request != nil && len(m.Request.Data) > 0 && !json.Valid(m.Request.Data) {
			t.Fatal("request data is not JSON")
		}
		// Decoding is deterministic.
		m2, k2, err2 := decodeMessage(body)
		if err2 != nil || k2 != k || m2.IdempotencyKey != m.IdempotencyKey {
			t.Fatal("decoding twice differs")
		}
	})
}
