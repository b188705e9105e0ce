package lctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// DefaultNamespace is the namespace of a rule stored without one.
const DefaultNamespace = "general"

// StoredRule is a D&R rule as an organization stores it. The Hive and the
// legacy rules API are two views of the same store.
type StoredRule struct {
	Namespace string          // "general", "managed", "service", …
	Name      string          // unique within the namespace
	Detect    json.RawMessage // the detect component, JSON
	Respond   json.RawMessage // the respond component, JSON
	Enabled   bool            // a disabled rule never runs

	// Hive user metadata, echoed back by the Hive API; Tags are also the
	// rule_tags of its detections. Expiry is kept but not enforced.
	Expiry  int64
	Tags    []string
	Comment string

	// Author is who stored the rule, the author of its detections:
	// "lctest" for rules stored through the API, and for SetRule's when
	// empty.
	Author string

	Created time.Time // first stored
	Updated time.Time // last stored

	// Err says why the rule can never match or report (a detect or
	// respond the evaluator cannot compile); nil for a working rule.
	// Set by the cloud; ignored by SetRule.
	Err error
}

func (r StoredRule) toDR() dr.Rule {
	return dr.Rule{Namespace: r.Namespace, Name: r.Name, Detect: r.Detect, Respond: r.Respond, Enabled: r.Enabled,
		Expiry: r.Expiry, Tags: r.Tags, Comment: r.Comment, Author: r.Author}
}

func fromDR(r dr.Rule) StoredRule {
	return StoredRule{Namespace: r.Namespace, Name: r.Name, Detect: r.Detect, Respond: r.Respond, Enabled: r.Enabled,
		Expiry: r.Expiry, Tags: r.Tags, Comment: r.Comment, Author: r.Author,
		Created: r.Created, Updated: r.Updated, Err: r.Err}
}

// SetRule stores r in the organization, replacing any rule of the same
// namespace and name, as a user editing rules in the web app would. An
// empty namespace is DefaultNamespace. A rule whose detect or respond
// cannot be compiled is stored but never matches; its Err (see Rules)
// and the record say why. SetRule fails only when r has no usable name.
func (o *Org) SetRule(r StoredRule) error {
	if r.Name == "" {
		return errors.New("lctest: SetRule: the rule has no name")
	}
	if strings.Contains(r.Name, "/") {
		return fmt.Errorf("lctest: SetRule: rule name %q contains a slash, which no API path could name", r.Name)
	}
	if r.Author == "" {
		r.Author = "lctest"
	}
	o.putRule(r.toDR())
	return nil
}

// putRule stores r and records a rule that cannot work.
func (o *Org) putRule(r dr.Rule) dr.Rule {
	stored := o.rules.Put(r)
	if stored.Err != nil {
		o.cloud.notify(Activity{Kind: ActivityRuleError, OID: o.OID, What: stored.Name, Err: stored.Err, Body: toJSON(map[string]any{
			"namespace": stored.Namespace, "detect": stored.Detect, "respond": stored.Respond,
		})})
	}
	return stored
}

// DeleteRule removes the rule, as a user deleting it would; it reports
// whether there was one.
func (o *Org) DeleteRule(namespace, name string) bool {
	return o.rules.Delete(namespace, name)
}

// Rule returns the stored rule namespace/name.
func (o *Org) Rule(namespace, name string) (StoredRule, bool) {
	r, ok := o.rules.Get(namespace, name)
	if !ok {
		return StoredRule{}, false
	}
	return fromDR(r), true
}

// Rules returns every stored rule, ordered by namespace then name.
func (o *Org) Rules() []StoredRule {
	var out []StoredRule
	for _, r := range o.rules.List("") {
		out = append(out, fromDR(r))
	}
	return out
}

// toJSON encodes v, which the caller knows to be plain data; should it fail
// anyway the result is JSON null rather than a panic.
func toJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
