package dr

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Store holds an organization's rules, keyed by namespace and name. Its
// methods are safe for concurrent use; every Rule they take or return is
// a copy.
type Store struct {
	mu    sync.Mutex
	rules map[key]*compiled
}

type key struct{ namespace, name string }

// NewStore returns an empty store.
func NewStore() *Store { return &Store{rules: map[key]*compiled{}} }

// Put compiles r and stores it, replacing the rule of the same namespace
// and name but keeping its creation time; an empty namespace is
// DefaultNamespace. It returns the rule as stored: a rule that cannot be
// compiled is stored all the same, with Err saying why it never matches.
func (s *Store) Put(r Rule) Rule {
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	c := compile(r.clone())
	now := time.Now()
	c.rule.Created, c.rule.Updated = now, now
	k := key{r.Namespace, r.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.rules[k]; ok {
		c.rule.Created = old.rule.Created
	}
	s.rules[k] = c
	return c.rule.clone()
}

// Delete removes a rule and reports whether there was one.
func (s *Store) Delete(namespace, name string) bool {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{namespace, name}
	_, ok := s.rules[k]
	delete(s.rules, k)
	return ok
}

// Get returns the rule namespace/name.
func (s *Store) Get(namespace, name string) (Rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.rules[key{namespace, name}]
	if !ok {
		return Rule{}, false
	}
	return c.rule.clone(), true
}

// List returns the rules of namespace, ordered by name; an empty
// namespace lists every rule, ordered by namespace then name.
func (s *Store) List(namespace string) []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Rule
	for k, c := range s.rules {
		if namespace == "" || k.namespace == namespace {
			out = append(out, c.rule.clone())
		}
	}
	slices.SortFunc(out, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Match is a rule that matched an event, with the reports and extension
// requests it makes.
type Match struct {
	Rule       Rule
	Reports    []Report
	Extensions []ExtRequest
}

// Evaluate runs event, the JSON object {routing, event} as Decode returns
// it, through the enabled, working rules of TargetEDR, ordered by
// namespace then name, and returns those that match.
func (s *Store) Evaluate(event map[string]any) []Match {
	return s.EvaluateTarget(TargetEDR, event)
}

// EvaluateTarget runs doc through the enabled, working rules of target,
// ordered by namespace then name, and returns those that match.
func (s *Store) EvaluateTarget(target string, doc map[string]any) []Match {
	event := doc
	s.mu.Lock()
	active := make([]*compiled, 0, len(s.rules))
	for _, c := range s.rules {
		if c.rule.Enabled && c.detect != nil && c.target == target {
			active = append(active, c)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(active, func(a, b *compiled) int {
		return cmp.Or(cmp.Compare(a.rule.Namespace, b.rule.Namespace), cmp.Compare(a.rule.Name, b.rule.Name))
	})
	var out []Match
	for _, c := range active {
		if c.detect.match(event) {
			out = append(out, Match{Rule: c.rule.clone(), Reports: c.reports, Extensions: c.exts})
		}
	}
	return out
}
