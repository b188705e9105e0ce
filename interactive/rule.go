package interactive

import (
	"context"
	"errors"
	"fmt"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tasking"
)

func auth(req *service.Request) tasking.Auth { return tasking.Auth{OID: req.OID, JWT: req.JWT()} }

// onInstall installs the replicant rule, then runs the user's handler.
func (s *Service) onInstall(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		err := s.installRule(ctx, req)
		return withRuleError(next(ctx, req), err)
	}
}

// onHourly re-installs the rule every hour, so a rule deleted by hand heals.
func (s *Service) onHourly(next service.HandlerFunc) service.HandlerFunc { return s.onInstall(next) }

// onUninstall removes the rule and forgets the organization.
func (s *Service) onUninstall(next service.HandlerFunc) service.HandlerFunc {
	return func(ctx context.Context, req *service.Request) service.Response {
		name := tasking.ReplicantRuleName(s.svc.Name())
		err := s.client.DeleteRule(ctx, auth(req), tasking.ReplicantRule(s.svc.Name()).Namespace, name)
		if errors.Is(err, tasking.ErrNotFound) {
			err = nil // already gone: the goal is reached
		}
		if err != nil {
			s.counters.ruleErrors.Add(1)
			req.Logger().Error("removing replicant rule failed", "rule", name, "error", err)
			err = fmt.Errorf("removing D&R rule %s: %w", name, err)
		}
		resp := withRuleError(next(ctx, req), err)
		s.orgs.forget(req.OID)
		return resp
	}
}

func (s *Service) installRule(ctx context.Context, req *service.Request) error {
	rule := tasking.ReplicantRule(s.svc.Name())
	if err := s.client.PutRule(ctx, auth(req), rule); err != nil {
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
