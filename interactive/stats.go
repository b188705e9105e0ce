package interactive

import (
	"sync/atomic"

	"github.com/lcsvc/lcservice/service"
	"github.com/lcsvc/lcservice/tracking"
)

// Stats counts what the interactive layer did since New.
type Stats struct {
	Tasked        int64 // tasks sent
	TaskErrors    int64 // tasks the API refused or that could not be sent
	RoutedClosure int64 // replies delivered to a pending closure
	// RoutedRelayed counts replies whose closure another replica holds,
	// handed to it through Redis and run there (counted where they arrived).
	RoutedRelayed int64
	// RelayServed counts replies other replicas handed to this process's
	// closures.
	RelayServed int64
	RoutedNamed int64 // replies delivered to a named handler
	Orphans     int64 // verified replies nobody claimed
	Refused     int64 // replies whose token was malformed, forged, tampered, or for another org or sensor
	Expired     int64 // replies whose token had expired
	TimedOut    int64 // tasks whose timeout has been handled
	Evicted     int64 // pending closures evicted for space
	RuleErrors  int64 // failed replicant rule installs or removals
	// QueuedJobs counts job updates made by timeout handlers that wait for
	// the next successful response to their organization.
	QueuedJobs int64
	// Pending is the pending store's counters; with a shared store
	// (WithRedisURL), Pending.Pending counts the tasks of every replica.
	Pending tracking.Stats
	// Transport is the base service's counters (service.Service.Stats):
	// refused signatures, limits, redeliveries.
	Transport service.Stats
}

type counters struct {
	tasked, taskErrors, routedClosure, routedRelayed, relayServed, routedNamed, orphans, refused, expired, timedOut, evicted, ruleErrors atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	c := &s.counters
	return Stats{
		Tasked: c.tasked.Load(), TaskErrors: c.taskErrors.Load(),
		RoutedClosure: c.routedClosure.Load(), RoutedRelayed: c.routedRelayed.Load(), RelayServed: c.relayServed.Load(), RoutedNamed: c.routedNamed.Load(), Orphans: c.orphans.Load(),
		Refused: c.refused.Load(), Expired: c.expired.Load(), TimedOut: c.timedOut.Load(),
		Evicted: c.evicted.Load(), RuleErrors: c.ruleErrors.Load(),
		QueuedJobs: int64(s.orgs.queuedLen()),
		Pending:    s.pending.Stats(),
		Transport:  s.Service.Stats(),
	}
}
