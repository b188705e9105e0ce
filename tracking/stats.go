package tracking

// Stats are a table's counters since it was created.
//
// Every added entry ends up in exactly one place, so
// Added == Pending + (Resolved single-reply entries) + Done + TimedOut +
// Evicted + Dropped; streaming replies make Resolved larger than its share.
type Stats struct {
	// Pending is the number of entries in the table now.
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
