package tasking

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Hive stores the D&R rules of namespace ns in the hive "dr-<ns>", one
// record per rule: its data is {"detect","respond"}, and usr_mtd.enabled
// decides whether the rule runs.

type hiveRuleData struct {
	Detect  json.RawMessage `json:"detect"`
	Respond json.RawMessage `json:"respond"`
}

// hiveUserMetadata is usr_mtd; the field order is the one LimaCharlie's
// documentation shows.
type hiveUserMetadata struct {
	Enabled bool     `json:"enabled"`
	Expiry  int64    `json:"expiry"`
	Tags    []string `json:"tags"`
	Comment string   `json:"comment"`
}

type hiveRecord struct {
	Data   *hiveRuleData `json:"data"`
	UsrMtd struct {
		Enabled bool `json:"enabled"`
	} `json:"usr_mtd"`
}

// hivePath returns /v1/hive/dr-<ns>/<oid>, plus /<name> when name is given.
func hivePath(org Org, namespace, name string, withName bool) (string, error) {
	ns, err := pathSegment("rule namespace", namespace)
	if err != nil {
		return "", err
	}
	oid, err := pathSegment("Org.ID", org.ID)
	if err != nil {
		return "", err
	}
	p := "/v1/hive/dr-" + ns + "/" + oid
	if withName {
		n, err := pathSegment("rule name", name)
		if err != nil {
			return "", err
		}
		p += "/" + n
	}
	return p, nil
}

func (c *Client) putHiveRule(ctx context.Context, org Org, r Rule) error {
	p, err := hivePath(org, r.Namespace, r.Name, true)
	if err != nil {
		return err
	}
	data, err := json.Marshal(hiveRuleData{Detect: r.Detect, Respond: r.Respond})
	if err != nil {
		return fmt.Errorf("tasking: rule %q: encoding detect and respond: %w", r.Name, err)
	}
	mtd, err := json.Marshal(hiveUserMetadata{Enabled: r.Enabled, Tags: []string{}})
	if err != nil {
		return fmt.Errorf("tasking: rule %q: encoding usr_mtd: %w", r.Name, err)
	}
	_, err = c.do(ctx, org, apiCall{
		op:     fmt.Sprintf("put rule %s/%s", r.Namespace, r.Name),
		kind:   KindRulePut,
		method: http.MethodPost,
		path:   p + "/data",
		form:   url.Values{"data": {string(data)}, "usr_mtd": {string(mtd)}},
	})
	return err
}

func (c *Client) deleteHiveRule(ctx context.Context, org Org, namespace, name string) error {
	p, err := hivePath(org, namespace, name, true)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, org, apiCall{
		op:     fmt.Sprintf("delete rule %s/%s", namespace, name),
		kind:   KindRuleDelete,
		method: http.MethodDelete,
		path:   p,
	})
	return err
}

func (c *Client) listHiveRules(ctx context.Context, org Org, namespace string) (map[string]Rule, error) {
	p, err := hivePath(org, namespace, "", false)
	if err != nil {
		return nil, err
	}
	op := "list rules " + namespace
	body, err := c.do(ctx, org, apiCall{op: op, kind: KindRuleList, method: http.MethodGet, path: p})
	if err != nil {
		return nil, err
	}
	var records map[string]hiveRecord
	if err := decodeList(op, body, &records); err != nil {
		return nil, err
	}
	rules := make(map[string]Rule, len(records))
	for name, rec := range records {
		r := Rule{Name: name, Namespace: namespace, Enabled: rec.UsrMtd.Enabled}
		if rec.Data != nil {
			r.Detect, r.Respond = rec.Data.Detect, rec.Data.Respond
		}
		rules[name] = r
	}
	return rules, nil
}

// decodeList decodes a list answer into v; an empty body is an empty list.
func decodeList(op string, body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("tasking: %s: the response is not the expected JSON object: %w", op, err)
	}
	return nil
}
