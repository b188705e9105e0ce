package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
)

// webhookMaker builds signed webhook bodies. Every body gets a fresh mid,
// as the cloud's deliveries do, so it is signed anew each time; the large
// part of a detection is encoded once.
type webhookMaker struct {
	cfg       loadConfig
	secret    []byte
	detection json.RawMessage // the detection's data, token included
	request   json.RawMessage
}

func newWebhookMaker(c loadConfig) (*webhookMaker, error) {
	if c.oid == "" {
		c.oid = uuid.NewString()
	}
	if c.jwt == "" {
		c.jwt = "lcsim-load-jwt"
	}
	if c.sid == "" {
		c.sid = uuid.NewString()
	}
	m := &webhookMaker{cfg: c, secret: []byte(c.secret)}
	var req map[string]any
	if err := json.Unmarshal([]byte(c.requestData), &req); err != nil || req == nil {
		return nil, fmt.Errorf("-request-data must be a JSON object: %v", err)
	}
	m.request, _ = json.Marshal(req)
	if c.mix.has("detection") {
		det, err := replyDetection(c)
		if err != nil {
			return nil, err
		}
		m.detection = det
	}
	return m, nil
}

// replyDetection is the detection the service's replicant rule reports for
// a sensor's OS_PACKAGES_REP answering a task, with a valid token.
func replyDetection(c loadConfig) (json.RawMessage, error) {
	codec, err := token.NewCodec(c.name, []byte(c.secret))
	if err != nil {
		return nil, fmt.Errorf("-name %q: %w", c.name, err)
	}
	// The token must outlive the run: the service refuses expired ones.
	inv, err := codec.Encode(token.Token{ID: uuid.New(), Handler: c.handler, Expiry: time.Now().Add(c.duration + 24*time.Hour)}, c.oid, c.sid)
	if err != nil {
		return nil, fmt.Errorf("making a token: %w", err)
	}
	pkgs := make([]map[string]string, c.packages)
	for i := range pkgs {
		pkgs[i] = map[string]string{"PACKAGE_NAME": fmt.Sprintf("package-%04d", i), "PACKAGE_VERSION": "1.2.3-4ubuntu5"}
	}
	now := time.Now().UnixMilli()
	routing := map[string]any{
		"oid": c.oid, "sid": c.sid, "hostname": "load-1", "plat": 0x20000000, "arch": 2,
		"event_type": "OS_PACKAGES_REP", "event_time": now, "event_id": uuid.NewString(),
		"investigation_id": inv,
	}
	rule := token.RuleName(c.name)
	return json.Marshal(map[string]any{
		"cat": token.DetectionName(c.name), "source": "dr-managed", "namespace": "managed",
		"source_rule": rule, "detect_id": uuid.NewString(), "gen_time": now,
		"routing": routing, "detect": map[string]any{"PACKAGES": pkgs},
	})
}

// make returns a signed webhook of kind and its signature.
func (m *webhookMaker) make(kind string) (body []byte, sig string) {
	etype, data := "health", json.RawMessage(`{}`)
	switch kind {
	case "detection":
		etype, data = "detection", m.detection
	case "request":
		etype, data = "request", m.request
	}
	env := struct {
		Version  int             `json:"version"`
		OID      string          `json:"oid,omitempty"`
		JWT      string          `json:"jwt,omitempty"`
		MID      string          `json:"mid"`
		Deadline int64           `json:"deadline"`
		EType    string          `json:"etype"`
		Data     json.RawMessage `json:"data"`
	}{Version: service.ProtocolVersion, MID: uuid.NewString(), Deadline: time.Now().Add(webhookDeadline).Unix(), EType: etype, Data: data}
	if etype != "health" {
		env.OID, env.JWT = m.cfg.oid, m.cfg.jwt
	}
	body, _ = json.Marshal(env) // only strings, numbers and valid JSON
	return body, service.Sign(m.secret, body)
}
