package tasking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The legacy rules API keeps all namespaces under /v1/rules/<oid> and names
// the rule in the form; its DELETE carries that form in the request body.

type legacyRecord struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Detect    json.RawMessage `json:"detect"`
	Respond   json.RawMessage `json:"respond"`
	IsEnabled *bool           `json:"is_enabled"`
}

func legacyPath(org Org) (string, error) {
	oid, err := pathSegment("Org.ID", org.ID)
	if err != nil {
		return "", err
	}
	return "/v1/rules/" + oid, nil
}

func (c *Client) putLegacyRule(ctx context.Context, org Org, r Rule) error {
	p, err := legacyPath(org)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, org, apiCall{
		op:     fmt.Sprintf("put rule %s/%s", r.Namespace, r.Name),
		kind:   KindRulePut,
		method: http.MethodPost,
		path:   p,
		form: url.Values{
			"name":       {r.Name},
			"namespace":  {r.Namespace},
			"detection":  {string(r.Detect)},
			"response":   {string(r.Respond)},
			"is_replace": {"true"},
			"is_enabled": {strconv.FormatBool(r.Enabled)},
		},
	})
	return err
}

func (c *Client) deleteLegacyRule(ctx context.Context, org Org, namespace, name string) error {
	p, err := legacyPath(org)
	if err != nil {
		return err
	}
	if namespace == "" || name == "" {
		return fmt.Errorf("tasking: delete rule %q in namespace %q: both name and namespace are required", name, namespace)
	}
	_, err = c.do(ctx, org, apiCall{
		op:     fmt.Sprintf("delete rule %s/%s", namespace, name),
		kind:   KindRuleDelete,
		method: http.MethodDelete,
		path:   p,
		form:   url.Values{"name": {name}, "namespace": {namespace}},
	})
	return err
}

func (c *Client) listLegacyRules(ctx context.Context, org Org, namespace string) (map[string]Rule, error) {
	p, err := legacyPath(org)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		return nil, errors.New("tasking: list rules: the namespace is empty (use \"general\", \"managed\" or \"service\")")
	}
	op := "list rules " + namespace
	body, err := c.do(ctx, org, apiCall{
		op:     op,
		kind:   KindRuleList,
		method: http.MethodGet,
		path:   p,
		query:  url.Values{"namespace": {namespace}},
	})
	if err != nil {
		return nil, err
	}
	var records map[string]legacyRecord
	if err := decodeList(op, body, &records); err != nil {
		return nil, err
	}
	rules := make(map[string]Rule, len(records))
	for name, rec := range records {
		ns := rec.Namespace
		if ns == "" {
			ns = namespace
		}
		// Before is_enabled existed every legacy rule ran: absent means on.
		enabled := rec.IsEnabled == nil || *rec.IsEnabled
		rules[name] = Rule{Name: name, Namespace: ns, Detect: rec.Detect, Respond: rec.Respond, Enabled: enabled}
	}
	return rules, nil
}
