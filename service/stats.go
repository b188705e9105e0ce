package service

import "sync/atomic"

// Stats counts what the service's transport refused or absorbed since New.
type Stats struct {
	Refused     int64 // webhooks whose signature did not verify (401)
	TooLarge    int64 // bodies over the limit (413)
	Busy        int64 // bodies that found no room in the body budget (503)
	SlowBodies  int64 // bodies cut off for arriving too slowly (408)
	Duplicates  int64 // deliveries answered from an earlier delivery of the same message
	EvictedConn int64 // connections closed to make room at the connection cap
	// BodyBytes is the budget in use now: bytes of bodies being read or
	// not yet authenticated.
	BodyBytes int64
	// OpenConns is the connections open now (0 unless the Service runs its
	// own server).
	OpenConns int64
}

type counters struct {
	refused, tooLarge, busy, slowBodies, duplicates, evictedConns atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	st := Stats{
		Refused: s.stats.refused.Load(), TooLarge: s.stats.tooLarge.Load(), Busy: s.stats.busy.Load(),
		SlowBodies: s.stats.slowBodies.Load(), Duplicates: s.stats.duplicates.Load(),
		EvictedConn: s.stats.evictedConns.Load(), BodyBytes: s.budget.inUse(),
	}
	if l := s.conns.Load(); l != nil {
		st.OpenConns = int64(l.openConns())
	}
	return st
}
