// Package tracking holds pending continuations keyed by task ID, in memory or
// shared by a service's replicas through Redis, and de-duplicates webhooks
// across those replicas.
//
// The interactive layer tasks a sensor and must later match the sensor's
// answer, which arrives as a separate webhook, to the code that asked. It
// stores that code in a [Store] as an [Entry] under the task ID it carried
// in the task's investigation_id, and looks it up again with Resolve when
// the answer comes back. A Store is an interface so that a service can
// choose where its pending tasks live; [Table] keeps them in this process's
// memory, [Redis] shares them between the processes of a service (see "A
// store shared by replicas" below).
//
// A Table is bounded twice over:
//
//   - in space: it is an LRU of at most Options.Capacity entries. Adding to
//     a full table pushes out the least recently used entry and reports it
//     to Options.OnEvict; it is counted as evicted, not as timed out,
//     because the task may still answer (a named handler can serve it
//     without the closure).
//   - in time: every entry has an expiry. When the earliest one is due, the
//     table's [Clock] calls it back and it hands the entries that expired
//     while still pending to Options.OnTimeout. Expiries are kept in a
//     min-heap, so a sweep costs O(k log n) for k expired entries rather
//     than a scan of the table, and an idle table costs nothing.
//
// A pending entry costs a Table about 120 bytes of its own on a 64-bit
// machine (with a pointer Value), besides what its Value points to. That
// includes its ID if the ID is in canonical UUID form (lowercase, as
// uuid.UUID.String gives), kept as 16 bytes; any other ID is kept as the
// caller's string, which costs that string and about 40 bytes more. Add
// allocates nothing once the table has held as many entries. After a burst, a Table gives memory back: once it
// holds less than a quarter of the most entries it held, its storage is
// rebuilt at its present size.
//
// Every entry leaves the table exactly once, and is handed to exactly one of:
// Resolve (for a single-reply entry), Done, OnTimeout, OnEvict, or nobody if
// the table is closed first. All of these decide under one lock, so a reply
// racing its own timeout yields one or the other, never both. Expiry is
// decided by the clock, not by when a sweep happens to run: once an entry is
// past its expiry, Resolve and Done no longer return it, and its timeout will
// fire.
//
// A streaming entry (Entry.Streaming) answers many replies: each Resolve
// returns it, counts the reply in Entry.Replies and marks it recently used,
// and it stays pending until Done is called or it expires. Its timeout then
// carries the final reply count so the caller can tell "no answer" from
// "answered, then went quiet".
//
// Callbacks run without the table's lock held, so they may call back into the
// table (except for Close and Shutdown from OnTimeout, which would wait for
// themselves). OnEvict runs on the goroutine of the Add that made room.
// OnTimeout runs during a sweep (started by the clock, or by a direct call
// of [Table.Sweep]): on the sweep's goroutine when one entry expired, on a
// goroutine each when several did, and the sweep returns when every call
// has; never inside Add, Resolve or Done.
//
// Tests drive time with a [ManualClock]: Advance moves it and returns once
// every timeout that became due has been handled.
//
// # A store shared by replicas
//
// A service often runs as several processes (replicas), and a sensor's
// answer may reach a replica other than the one that tasked the sensor.
// [Redis] is a Store that the replicas share through a Redis server: every
// store whose RedisOptions.Prefix is the same sees the same pending
// entries, whatever process added them. What is shared is an entry's data:
// its ID, Created, Expires, Streaming, Replies, and its Value as bytes,
// encoded by the store's [Codec] ([JSONCodec] is a ready one). A Go value
// itself is not shared, and a closure cannot be encoded at all: the
// interactive layer keeps closures in the process that created them and
// shares only what another process can act on, such as a named handler
// and its arguments.
//
// The Table's guarantees hold across all the replicas:
//
//   - an ID is pending at most once: Add fails with ErrDuplicateID in every
//     replica while it is;
//   - a single-reply entry goes to exactly one of Resolve, Done and
//     OnTimeout, however many replicas race for it;
//   - each Resolve of a streaming entry counts its reply once, and its
//     timeout carries the final count;
//   - every entry that expires while pending is handed to OnTimeout exactly
//     once, by the one replica that claimed it.
//
// They hold because every decision is a Lua script, and Redis runs a
// script atomically. Add checks that the ID is free and writes the entry.
// Resolve and Done check that the entry exists and has not expired at the
// time of the caller's clock (passed to the script), count the reply, and
// delete the entry unless it is a streaming entry being resolved. Each
// replica sweeps every RedisOptions.SweepInterval: one script lists up to
// MaxClaim IDs whose expiry has passed, removes each from the expiry index
// and deletes its entry, and returns their data. An entry a script has
// removed is no longer there for any other script, so only the replica
// whose script removed it times it out. Expiry is decided by the clock of
// the replica asking, so the replicas' clocks should agree to well within
// a TTL; times are kept to the millisecond (Expires is rounded up).
//
// While Redis is unreachable every call fails within
// RedisOptions.CallTimeout (2s by default, whether or not the caller's
// context has a deadline) with an error matching ErrUnavailable, and the
// entries stored in Redis are untouched. The caller answers "retry later"
// instead of treating the task as unknown, so nothing is lost when the
// reply comes again. The exception is a call that timed out after Redis
// had carried it out, as with any network call: a Resolve or Done caught
// so has removed an entry its caller never saw. A sweep that fails is
// logged and tried again after SweepInterval; the entries that expired in
// the meantime time out once Redis is back. A missing entry is never an
// error: Resolve and Done return ok == false.
//
// Keys: with Prefix P, one per service so that services can share a Redis
// (e.g. "lcservice:packages:"; on Redis Cluster with a hash tag,
// "lcservice:{packages}:", so that a store's keys share a slot),
//
//	P + "pending:" + ID   a hash per entry: v the encoded Value, c Created
//	                      (Unix ns), x Expires (Unix ms), s "1" if
//	                      streaming, r the replies so far
//	P + "expiries"        a sorted set of the pending IDs, scored by expiry
//	                      (Unix ms)
//
// Each entry's hash expires in Redis [RedisKeyMargin] after the entry does
// (the set after its latest entry's hash), so an entry that no replica
// sweeps, because none is left, does not live forever.
//
// The Stats of a shared store count this process's calls (Added, Resolved,
// Done, TimedOut), except Pending, which is the whole service's count read
// from Redis. Close stops this process's sweeps and waits for its
// OnTimeout calls; it drops nothing, since the other replicas still serve
// the entries, and it does not close the Redis client.
//
// # De-duplication shared by replicas
//
// The platform delivers a webhook again when it did not get an answer in
// time, and a repeat may reach another replica than the first delivery.
// Each transport de-duplicates in process memory by default; two stores
// share that across the replicas through the same Redis:
//
//   - [RedisDeliveries], a service.DeliveryStore for the service protocol
//     (service.WithDeliveryStore), keyed by message;
//   - [RedisIdempotency], an extension.IdempotencyStore for the extension
//     protocol (extension.WithIdempotencyStore), keyed by idempotency_key.
//
// What the replicas share is, for each message, either a claim or an
// answer. The first delivery claims the message, in one Lua script, so of
// deliveries arriving at once on several replicas exactly one claims it
// and runs the handler. The others wait for its answer (RedisDeliveries:
// the service polls the store, up to the deadlines) or are told
// to come back (RedisIdempotency: a 500, retriable). The answer is then
// kept for a window (Window, TTL) and every later delivery gets it without
// running the handler. A claim ends by itself at the handler's deadline
// (RedisDeliveries) or after ClaimTTL (RedisIdempotency), so a replica
// that crashed while handling a message does not hold it forever. An
// answer asking for a retry is not kept: the next delivery runs the
// handler again. Neither store holds anything in process memory.
//
// When Redis does not answer, every call fails within CallTimeout with an
// error matching ErrUnavailable. The service protocol then handles the
// webhook without de-duplication (and logs it, rate-limited): a repeat may
// run the handler again, but no webhook is refused. The extension
// transport answers 500, retriable, and the platform delivers again
// later. A claim made by a call that timed out after Redis had carried it
// out holds the message until it ends by itself.
//
// Keys: with Prefix P (it may be the one a Redis store uses),
//
//	P + "deliveries:" + H    RedisDeliveries
//	P + "idempotency:" + H   RedisIdempotency
//
// where H is the hex SHA-256 of the message's key, so that what the
// platform sends never forms a key name and every name has one length.
// Each call touches one key, so no hash tag is needed on Redis Cluster.
package tracking
