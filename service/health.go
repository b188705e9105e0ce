package service

import (
	"context"
	"slices"
)

type healthWire struct {
	Version         int        `json:"version"`
	StartTime       int64      `json:"start_time"`
	CallsInProgress int64      `json:"calls_in_progress"`
	Metadata        healthMeta `json:"mtd"`
}

type healthMeta struct {
	DetectSubscriptions []string               `json:"detect_subscriptions"`
	Callbacks           []EventType            `json:"callbacks"`
	RequestParams       Params                 `json:"request_params"`
	Commands            map[string]commandWire `json:"commands"`
}

// handleHealth answers health with the service's metadata.
func (s *Service) handleHealth(context.Context, *Request) Response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := healthMeta{
		DetectSubscriptions: append([]string{}, s.subscriptions...),
		Callbacks:           s.callbacksLocked(),
		RequestParams:       s.params,
		Commands:            make(map[string]commandWire, len(s.commands)),
	}
	for name, c := range s.commands {
		args := c.Args
		if args == nil {
			args = Params{}
		}
		m.Commands[name] = commandWire{Name: name, Desc: c.Description, Args: args}
	}
	return OK(healthWire{
		Version:         s.version,
		StartTime:       s.startTime.Unix(),
		CallsInProgress: s.inProgress.Load(),
		Metadata:        m,
	})
}

// callbacksLocked lists the implemented etypes in protocol order.
func (s *Service) callbacksLocked() []EventType {
	var out []EventType
	for _, e := range EventTypes() {
		if s.implementedLocked(e) {
			out = append(out, e)
		}
	}
	return slices.Clip(out)
}

func (s *Service) implementedLocked(e EventType) bool {
	switch {
	case e == Health:
		return true
	case e == GetResource && len(s.resources) > 0:
		return true
	case e == CommandEvent && len(s.commands) > 0:
		return true
	case s.handlers[e] != nil:
		return true
	}
	return slices.ContainsFunc(s.middleware, func(l layer) bool { return l.names(e) })
}
