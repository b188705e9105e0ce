package wire

// Hooks package service sets in its init for the other packages of this
// module (the extension protocol, the interactive layer); they are not
// part of any public API. Each holds a func of the type its comment gives,
// which a caller asserts once, at its own initialisation.
var (
	// Serve is a func(*service.Service, Protocol): the service serves its
	// webhooks with the protocol given. A service option calls it.
	Serve any
	// ProtocolOf is a func(*service.Service) Protocol: the protocol the
	// service serves.
	ProtocolOf any
	// Dispatch is a func(*service.Service, context.Context,
	// *service.Request) service.Response: it runs the request's
	// middleware and handler as the front door does for a webhook.
	Dispatch any
	// NewRequest is a func(*service.Service, service.EventType,
	// tasking.Org, json.RawMessage) *service.Request: a request whose
	// logger is the service's.
	NewRequest any
)
