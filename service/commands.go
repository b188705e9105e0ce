package service

import (
	"context"
	"fmt"
)

// Command is an operation the service offers through etype command: the
// cloud sends command_name plus arguments, validated against Args before
// Handler runs.
type Command struct {
	Name        string
	Description string
	Args        Params
	Handler     HandlerFunc
}

// AddCommand registers a command; it is listed in health. A command
// without a name or handler, or with an invalid argument schema, panics.
func (s *Service) AddCommand(c Command) {
	switch {
	case c.Name == "":
		panic("service: AddCommand: the command needs a name")
	case c.Handler == nil:
		panic(fmt.Sprintf("service: AddCommand: command %q needs a handler", c.Name))
	}
	if err := c.Args.check(); err != nil {
		panic(fmt.Sprintf("service: AddCommand: command %q: %v", c.Name, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[c.Name] = c
}

// commandWire is a command as health describes it.
type commandWire struct {
	Name string `json:"name"`
	Desc string `json:"desc"`
	Args Params `json:"args"`
}

// handleCommand validates the arguments and runs the named command: the
// request's CommandName when a transport set it (an extension action per
// command), else the payload's command_name.
func (s *Service) handleCommand(ctx context.Context, req *Request) Response {
	name := req.CommandName
	if name == "" {
		name = req.String("command_name")
	}
	if name == "" {
		return Failf("missing parameter command_name")
	}
	s.mu.RLock()
	c, ok := s.commands[name]
	s.mu.RUnlock()
	if !ok {
		return Failf("unknown command %q", name)
	}
	args, err := c.Args.validate(req.Data)
	if err != nil {
		return Fail(err)
	}
	cmdReq := &Request{
		OID: req.OID, MessageID: req.MessageID, EventType: req.EventType, Deadline: req.Deadline,
		Data: req.Data, CommandName: name, Action: req.Action, jwt: req.jwt, base: req.base,
	}
	cmdReq.setParams(args)
	if cmdReq.base != nil {
		cmdReq.base = cmdReq.base.With("command", name)
	}
	return c.Handler(ctx, cmdReq)
}
