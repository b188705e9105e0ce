package service

import (
	"maps"
	"slices"
	"strings"
)

// Metadata is what a service declares about itself: what health reports on
// the service protocol, for transports that describe the service in their
// own terms (the extension package builds its schema from it).
type Metadata struct {
	// Name is the service name given to New.
	Name string
	// Version is the version given with WithVersion (default 1).
	Version int
	// EventTypes lists the implemented event types, health first, in the
	// order of EventTypes(): those with a handler, those a Use names, get_resource
	// when a resource is published and command when a command is registered.
	EventTypes []EventType
	// Subscriptions lists the detection names given to SubscribeDetections.
	Subscriptions []string
	// RequestParams is the schema given to SetRequestParams (a copy).
	RequestParams Params
	// Commands lists the registered commands sorted by name, without their
	// handlers.
	Commands []Command
}

// Metadata returns what the service declares. Like health, it reflects the
// registrations made so far.
func (s *Service) Metadata() Metadata {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := Metadata{
		Name:          s.name,
		Version:       s.version,
		EventTypes:    s.callbacksLocked(),
		Subscriptions: slices.Clone(s.subscriptions),
		RequestParams: maps.Clone(s.params),
	}
	if m.RequestParams == nil {
		m.RequestParams = Params{}
	}
	for _, c := range s.commands {
		c.Handler = nil
		c.Args = maps.Clone(c.Args)
		m.Commands = append(m.Commands, c)
	}
	slices.SortFunc(m.Commands, func(a, b Command) int { return strings.Compare(a.Name, b.Name) })
	return m
}

// Implements reports whether e is among m.EventTypes.
func (m Metadata) Implements(e EventType) bool { return slices.Contains(m.EventTypes, e) }
