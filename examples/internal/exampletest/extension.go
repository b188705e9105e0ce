package exampletest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/service"
)

// Extension delivers extension messages to a running example as LimaCharlie
// would: JSON signed with lc-ext-sig over the uncompressed body, gzipped
// when asked.
type Extension struct {
	T      *testing.T
	URL    string
	Secret string
	OID    string
	JWT    string
	n      atomic.Int64
}

// ExtAnswer is a decoded answer.
type ExtAnswer struct {
	Status        int
	Raw           string
	Took          time.Duration
	Error         string          `json:"error"`
	Retriable     *bool           `json:"retriable"`
	Data          json.RawMessage `json:"data"`
	Continuations []struct {
		InDelaySec uint64          `json:"in_delay_sec"`
		Action     string          `json:"action"`
		State      json.RawMessage `json:"state"`
	} `json:"continuations"`
}

// IsRetriable reports what the platform would: an answer without the
// retriable field is retriable.
func (a ExtAnswer) IsRetriable() bool { return a.Retriable == nil || *a.Retriable }

// Post sends raw as the body: signed with sig ("" for none), gzipped when zip.
func (e *Extension) Post(raw []byte, sig string, zip bool) ExtAnswer {
	e.T.Helper()
	body, enc := raw, ""
	if zip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		body, enc = buf.Bytes(), "gzip"
	}
	return e.PostBody(body, enc, sig)
}

// PostBody sends body as it is, with a Content-Encoding (or none) and a
// signature (or none).
func (e *Extension) PostBody(body []byte, encoding, sig string) ExtAnswer {
	e.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if sig != "" {
		req.Header.Set("lc-ext-sig", sig)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := ExtAnswer{Status: resp.StatusCode, Raw: string(raw), Took: time.Since(start)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			e.T.Fatalf("status %d: answer is not JSON: %q", resp.StatusCode, raw)
		}
	}
	return a
}

// Sign signs raw with the example's secret.
func (e *Extension) Sign(raw []byte) string { return service.Sign([]byte(e.Secret), raw) }

// Send completes msg (version, a fresh idempotency_key unless it has one),
// signs and posts it.
func (e *Extension) Send(msg map[string]any, zip bool) ExtAnswer {
	e.T.Helper()
	if _, ok := msg["version"]; !ok {
		msg["version"] = 20221218
	}
	if _, ok := msg["idempotency_key"]; !ok {
		msg["idempotency_key"] = fmt.Sprintf("bb-%d-%d", time.Now().UnixNano(), e.n.Add(1))
	}
	raw, _ := json.Marshal(msg)
	return e.Post(raw, e.Sign(raw), zip)
}

func (e *Extension) org() map[string]any {
	return map[string]any{"oid": e.OID, "jwt": e.JWT, "ident": "black-box@example.com"}
}

// Request sends a request for action with data.
func (e *Extension) Request(action string, data any) ExtAnswer {
	e.T.Helper()
	return e.Send(map[string]any{"request": map[string]any{"org": e.org(), "action": action, "data": data, "config": map[string]any{}}}, false)
}

// RequestKeyed is Request with a given idempotency key.
func (e *Extension) RequestKeyed(key, action string, data any) ExtAnswer {
	e.T.Helper()
	return e.Send(map[string]any{"idempotency_key": key, "request": map[string]any{"org": e.org(), "action": action, "data": data}}, false)
}

// Event sends the event name (subscribe, unsubscribe, update).
func (e *Extension) Event(name string) ExtAnswer {
	e.T.Helper()
	return e.Send(map[string]any{"event": map[string]any{"org": e.org(), "event_name": name, "data": map[string]any{}, "config": map[string]any{}}}, false)
}

// Schema sends schema_request and decodes the answer's data into v.
func (e *Extension) Schema(v any) ExtAnswer {
	e.T.Helper()
	a := e.Send(map[string]any{"schema_request": map[string]any{}}, true)
	if err := json.Unmarshal(a.Data, v); err != nil {
		e.T.Fatalf("schema: %v: %s", err, a.Raw)
	}
	return a
}

// GzipBomb returns n bytes of zeros (rounded up to whole MiB),
// gzip-compressed: one compressed MiB repeated as gzip members, which a
// gzip reader inflates back to back, so building it costs one MiB of
// compression however large n is.
func GzipBomb(n int) []byte {
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	return bytes.Repeat(one.Bytes(), (n+1<<20-1)>>20)
}
