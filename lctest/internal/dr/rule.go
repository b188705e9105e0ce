package dr

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// DefaultNamespace is the namespace of a rule stored without one.
const DefaultNamespace = "general"

// Rule is a D&R rule as an organization stores it: the Hive and the
// legacy rules API are two views of the same record.
type Rule struct {
	Namespace string          // "general", "managed", "service", …
	Name      string          // unique within the namespace
	Detect    json.RawMessage // the detect component, JSON
	Respond   json.RawMessage // the respond component, JSON
	Enabled   bool            // a disabled rule never runs

	// Hive user metadata: kept and echoed, Tags also become the
	// detections' rule_tags. Expiry is not enforced.
	Expiry  int64
	Tags    []string
	Comment string

	Author  string    // who stored the rule; the detections' author
	Created time.Time // first stored
	Updated time.Time // last stored

	// Err says why the rule can never match or report (a detect or
	// respond the evaluator cannot compile); nil for a working rule. Set
	// by Store.Put.
	Err error
}

// clone copies r so that no slice is shared with the caller.
func (r Rule) clone() Rule {
	r.Detect = slices.Clone(r.Detect)
	r.Respond = slices.Clone(r.Respond)
	r.Tags = slices.Clone(r.Tags)
	return r
}

// compiled is a stored rule with its detect and respond compiled.
type compiled struct {
	rule    Rule
	detect  matcher      // nil when rule.Err != nil
	target  string       // TargetEDR, TargetSchedule or TargetDetection
	reports []Report     // the report actions of respond
	exts    []ExtRequest // the extension request actions of respond
}

// compile compiles r's components, recording any problem in r.Err.
func compile(r Rule) *compiled {
	r.Err = nil
	c := &compiled{rule: r}
	m, target, err := compileDetect(r.Detect)
	if err != nil {
		c.rule.Err = fmt.Errorf("rule %s/%s: %w", r.Namespace, r.Name, err)
		return c
	}
	reports, exts, err := compileRespond(r.Respond)
	if err != nil {
		c.rule.Err = fmt.Errorf("rule %s/%s: %w", r.Namespace, r.Name, err)
		return c
	}
	c.detect, c.target, c.reports, c.exts = m, target, reports, exts
	return c
}
