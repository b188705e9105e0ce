package tracking

// Stats are a store's counters since it was created. A shared store
// ([Redis]) counts the calls of this process, except Pending, which counts
// the entries of every process; there the identity below holds for the
// sum over all processes.
//
// Every added entry ends up in exactly one place, so
// Added == Pending + (Resolved single-reply entries) + Done + TimedOut +
// Evicted + Dropped; streaming replies make Resolved larger than its share.
type Stats struct {
	// Pending is the number of entries in the store now.
	Pending int64
	// Added counts entries accepted by Add.
	Added int64
	// Resolved counts replies returned by Resolve: one per single-reply
	// entry, one per reply of a streaming entry.
	Resolved int64
	// Done counts entries finished by Done.
	Done int64
	// TimedOut counts entries that expired while pending (OnTimeout calls).
	TimedOut int64
	// Evicted counts entries pushed out for space (OnEvict calls).
	Evicted int64
	// Dropped counts entries discarded, without callbacks, by Close.
	Dropped int64
}
