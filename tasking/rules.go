package tasking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Rule is a D&R rule as the framework stores it.
//
// Detect and Respond are raw JSON (the rule's detect object and respond
// list), so callers build them with their own types or literals; ListRules
// returns them as the API sent them.
type Rule struct {
	Name      string
	Namespace string // "general", "managed" (Hive dr-managed), "service"
	Detect    json.RawMessage
	Respond   json.RawMessage
	Enabled   bool
}

// PutRule creates rule r or replaces the rule of the same name and
// namespace.
func (c *Client) PutRule(ctx context.Context, org Org, r Rule) error {
	if err := checkRule(r); err != nil {
		return err
	}
	if c.legacyRules {
		return c.putLegacyRule(ctx, org, r)
	}
	return c.putHiveRule(ctx, org, r)
}

// DeleteRule deletes the rule name in namespace. Deleting a rule that does
// not exist returns an error matching ErrNotFound, which callers that only
// want the rule gone may ignore.
func (c *Client) DeleteRule(ctx context.Context, org Org, namespace, name string) error {
	if c.legacyRules {
		return c.deleteLegacyRule(ctx, org, namespace, name)
	}
	return c.deleteHiveRule(ctx, org, namespace, name)
}

// ListRules returns the rules of namespace, keyed by name.
func (c *Client) ListRules(ctx context.Context, org Org, namespace string) (map[string]Rule, error) {
	if c.legacyRules {
		return c.listLegacyRules(ctx, org, namespace)
	}
	return c.listHiveRules(ctx, org, namespace)
}

func checkRule(r Rule) error {
	if r.Name == "" {
		return errors.New("tasking: Rule.Name is empty")
	}
	if r.Namespace == "" {
		return fmt.Errorf("tasking: rule %q: Rule.Namespace is empty (use \"general\", \"managed\" or \"service\")", r.Name)
	}
	if !json.Valid(r.Detect) {
		return fmt.Errorf("tasking: rule %q: Rule.Detect is not valid JSON", r.Name)
	}
	if !json.Valid(r.Respond) {
		return fmt.Errorf("tasking: rule %q: Rule.Respond is not valid JSON", r.Name)
	}
	return nil
}
