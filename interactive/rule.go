package interactive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lcsvc/lcservice/internal/token"
	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

// ruleNamespace is where the replicant rule lives (Hive dr-managed); the
// service needs dr.list.managed, dr.set.managed and dr.del.managed.
const ruleNamespace = "managed"

// replicantRule returns the D&R rule that sends every answer to service's
// tasks back to it as a detection: any event whose investigation_id starts
// with the service's prefix, except the CLOUD_NOTIFICATION receipt that
// only says a task was queued, is reported as __svc-<service>-ex.
func replicantRule(service string) tasking.Rule {
	type action struct {
		Action string `json:"action"`
		Name   string `json:"name"`
	}
	r, _ := json.Marshal([]action{{Action: "report", Name: token.DetectionName(service)}})
	return replicantRuleWith(service, r)
}

// replicantRuleWith returns the replicant rule of service answering with
// respond: report on the service protocol, extension request on extensions.
func replicantRuleWith(service string, respond json.RawMessage) tasking.Rule {
	type op struct {
		Op    string `json:"op"`
		Not   bool   `json:"not,omitempty"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	type detect struct {
		Op    string `json:"op"`
		Rules []op   `json:"rules"`
	}
	d, _ := json.Marshal(detect{Op: "and", Rules: []op{
		{Op: "starts with", Path: "routing/investigation_id", Value: token.Prefix(service)},
		{Op: "is", Not: true, Path: "routing/event_type", Value: "CLOUD_NOTIFICATION"},
	}})
	return tasking.Rule{Name: token.RuleName(service), Namespace: ruleNamespace, Detect: d, Respond: respond, Enabled: true}
}

// onInstall stores the replicant rule, then runs the user's handler. It
// serves org_install and org_per_1h (on extensions: subscribe; update
// stores the rule again), so a rule deleted by hand heals.
func (s *Service) onInstall(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		err := s.installRule(ctx, req)
		return withRuleError(next(ctx, req), err)
	}
}

// onUninstall removes the rule and forgets the organization.
func (s *Service) onUninstall(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		name := token.RuleName(s.Name())
		err := s.client.DeleteRule(ctx, req.Org(), ruleNamespace, name)
		if errors.Is(err, tasking.ErrNotFound) {
			err = nil // already gone: the goal is reached
		}
		if err != nil {
			s.counters.ruleErrors.Add(1)
			req.Logger().Error("removing replicant rule failed", "rule", name, "error", err)
			err = fmt.Errorf("removing D&R rule %s: %w", name, err)
		}
		resp := withRuleError(next(ctx, req), err)
		s.orgs.forget(ctx, req.OID)
		return resp
	}
}

func (s *Service) installRule(ctx context.Context, req *service.Request) error {
	rule := s.rule()
	if err := s.client.PutRule(ctx, req.Org(), rule); err != nil {
		s.counters.ruleErrors.Add(1)
		req.Logger().Error("installing replicant rule failed", "rule", rule.Name, "error", err)
		return fmt.Errorf("installing D&R rule %s (the service needs dr.set.managed): %w", rule.Name, err)
	}
	return nil
}

// withRuleError reports a rule failure in resp without hiding the user's
// result: success, data and jobs stay as the user's handler set them.
func withRuleError(resp service.Response, err error) service.Response {
	if err != nil {
		resp.Err = errors.Join(resp.Err, err)
	}
	return resp
}
