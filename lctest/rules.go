package lctest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

	// Hive user metadata, echoed back by the Hive API.
	Expiry  int64
	Tags    []string
	Comment string

	Created time.Time // first stored
	Updated time.Time // last stored

	// Err says why the rule can never match or report (a detect or
	// respond the evaluator cannot compile); nil for a working rule.
	// Set by the cloud; ignored by SetRule.
	Err error
}

type ruleKey struct{ namespace, name string }

// compiledRule is a stored rule with its detect and respond compiled.
type compiledRule struct {
	StoredRule
	detect  matcher        // nil when Err != nil
	reports []reportAction // report actions of respond
}

// compileRule compiles r's components, recording any problem in r.Err.
func compileRule(r StoredRule) *compiledRule {
	cr := &compiledRule{StoredRule: r}
	cr.Err = nil
	m, err := compileDetect(r.Detect)
	if err != nil {
		cr.Err = fmt.Errorf("rule %s/%s: %w", r.Namespace, r.Name, err)
		return cr
	}
	reports, err := compileRespond(r.Respond)
	if err != nil {
		cr.Err = fmt.Errorf("rule %s/%s: %w", r.Namespace, r.Name, err)
		return cr
	}
	cr.detect, cr.reports = m, reports
	return cr
}

// SetRule stores r in the organization, replacing any rule of the same
// namespace and name, as a user editing rules in the web app would. An
// empty namespace is DefaultNamespace. A rule whose detect or respond
// cannot be compiled is stored but never matches; its Err (see Rules)
// and the observer say why. SetRule fails only when r has no name.
func (o *Org) SetRule(r StoredRule) error {
	if r.Name == "" {
		return errors.New("lctest: SetRule: the rule has no name")
	}
	if strings.Contains(r.Name, "/") {
		return fmt.Errorf("lctest: SetRule: rule name %q contains a slash, which no API path could name", r.Name)
	}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	o.putRule(r)
	return nil
}

// putRule compiles and stores r, keeping the creation time of the rule it
// replaces, and reports a rule that cannot work to the observer.
func (o *Org) putRule(r StoredRule) {
	now := time.Now()
	r.Detect = slices.Clone(r.Detect)
	r.Respond = slices.Clone(r.Respond)
	r.Tags = slices.Clone(r.Tags)
	cr := compileRule(r)
	cr.Updated = now
	key := ruleKey{r.Namespace, r.Name}
	o.mu.Lock()
	if old, ok := o.rules[key]; ok {
		cr.Created = old.Created
	} else {
		cr.Created = now
	}
	o.rules[key] = cr
	o.mu.Unlock()
	if cr.Err != nil {
		o.cloud.notify(Activity{Kind: ActivityRuleError, OID: o.OID, What: r.Name, Err: cr.Err, Body: toJSON(map[string]any{
			"namespace": r.Namespace, "detect": r.Detect, "respond": r.Respond,
		})})
	}
}

// DeleteRule removes the rule, as a user deleting it would; it reports
// whether there was one.
func (o *Org) DeleteRule(namespace, name string) bool {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	key := ruleKey{namespace, name}
	_, ok := o.rules[key]
	delete(o.rules, key)
	return ok
}

// Rule returns the stored rule namespace/name.
func (o *Org) Rule(namespace, name string) (StoredRule, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cr, ok := o.rules[ruleKey{namespace, name}]
	if !ok {
		return StoredRule{}, false
	}
	return cr.snapshot(), true
}

// Rules returns every stored rule, ordered by namespace then name.
func (o *Org) Rules() []StoredRule {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]StoredRule, 0, len(o.rules))
	for _, cr := range o.rules {
		out = append(out, cr.snapshot())
	}
	slices.SortFunc(out, func(a, b StoredRule) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// rulesIn returns the compiled rules of namespace, ordered by name.
func (o *Org) rulesIn(namespace string) []*compiledRule {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*compiledRule
	for key, cr := range o.rules {
		if key.namespace == namespace {
			out = append(out, cr)
		}
	}
	slices.SortFunc(out, func(a, b *compiledRule) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// activeRules returns the enabled, working rules, in a stable order.
func (o *Org) activeRules() []*compiledRule {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*compiledRule
	for _, cr := range o.rules {
		if cr.Enabled && cr.detect != nil {
			out = append(out, cr)
		}
	}
	slices.SortFunc(out, func(a, b *compiledRule) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// snapshot copies the stored rule so callers cannot alias the store.
func (cr *compiledRule) snapshot() StoredRule {
	r := cr.StoredRule
	r.Detect = slices.Clone(r.Detect)
	r.Respond = slices.Clone(r.Respond)
	r.Tags = slices.Clone(r.Tags)
	return r
}
