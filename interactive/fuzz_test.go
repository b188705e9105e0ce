package interactive

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

// FuzzParseDetection feeds arbitrary detection data to the routing decoder
// and the receipt reader: no panic, and an event it hands on is JSON. (On
// text that is not JSON, which no transport hands on, they must not panic
// either: FuzzParseMatchesReference sees to both.)
func FuzzParseDetection(f *testing.F) {
	for _, s := range []string{
		`{"cat":"c","routing":{"oid":"o","sid":"s","event_type":"OS_VERSION_REP","event_time":1,"investigation_id":"svc-x-ex/AA"},"detect":{"BUILD_NUMBER":1}}`,
		`{"routing":{},"detect":{"event":{"ERROR":5,"ERROR_MESSAGE":"no"},"routing":{"sid":"s","investigation_id":"i"}}}`,
		`{"detect":{"routing":{"plat":268435456,"event_time":1e400}}}`,
		`{"routing":{"plat":-1}}`, `{"routing":[]}`, `[]`, `null`, `{"detect":"x"}`,
		`{"detect":{"event":{"ERROR":"200","ERROR_MESSAGE":"done"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return // Request.Data is valid JSON: every transport validates it
		}
		r, event, err := parseDetection(data)
		if err != nil {
			return
		}
		if len(event) > 0 && !json.Valid(event) {
			t.Fatalf("%q: event %q is not JSON", data, event)
		}
		_ = r.Plat.String()
		_, _ = receiptError(event)
	})
}

// FuzzReplyWebhook posts arbitrary detections, signed, through the whole
// service, with investigation_ids that are ours, forged or arbitrary: the
// answer is always one the protocol knows, and nothing but the genuine
// token reaches the reply handler.
func FuzzReplyWebhook(f *testing.F) {
	codec, err := token.NewCodec("itest", []byte(testSecret))
	if err != nil {
		f.Fatal(err)
	}
	genuine, err := codec.Encode(token.Token{ID: [16]byte{9}, Handler: "h", Expiry: time.Now().Add(24 * time.Hour)}, testOID, testSID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, testSID, testOID, []byte(`{"BUILD_NUMBER":1}`))
	f.Add(genuine, "aaaaaaaa-0000-cccc-dddd-eeeeeeeeeeee", testOID, []byte(`{}`))
	f.Add(genuine, testSID, "00000000-2222-3333-4444-555555555555", []byte(`{}`))
	f.Add(genuine[:len(genuine)-2], testSID, testOID, []byte(`{"ERROR":1}`))
	f.Add("svc-itest-ex/", "", "", []byte(`null`))
	f.Add("other", testSID, testOID, []byte(`[]`))

	is, err := New("itest", testSecret, WithServiceOptions(service.WithLogOutput(io.Discard, io.Discard), service.WithDeliveryStore(nil)))
	if err != nil {
		f.Fatal(err)
	}
	defer is.Shutdown(context.Background())
	is.HandleReply("h", func(context.Context, *Reply) service.Response { return service.OK(nil) })
	f.Fuzz(func(t *testing.T, inv, sid, routingOID string, event []byte) {
		routing := map[string]any{"oid": routingOID, "sid": sid, "event_type": "X_REP", "event_time": 1, "investigation_id": inv}
		data := map[string]any{"cat": token.DetectionName("itest"), "routing": routing}
		if json.Valid(event) {
			data["detect"] = json.RawMessage(event)
		} else {
			data["detect"] = string(event)
		}
		body, err := json.Marshal(map[string]any{
			"version": 1, "oid": testOID, "mid": "m", "jwt": testJWT,
			"deadline": time.Now().Add(time.Minute).Unix(), "etype": "detection", "data": data,
		})
		if err != nil {
			return
		}
		before := is.Stats()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(service.SignatureHeader, service.Sign([]byte(testSecret), body))
		rec := httptest.NewRecorder()
		is.ServeHTTP(rec, req)
		if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		after := is.Stats()
		if after.RoutedNamed > before.RoutedNamed && (inv != genuine || !sameID(sid, testSID) || !(routingOID == "" || sameID(routingOID, testOID))) {
			t.Fatalf("routed a reply with investigation_id %q from sensor %q of org %q", inv, sid, routingOID)
		}
	})
}

func sameID(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }
