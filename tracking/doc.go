// Package tracking holds pending continuations keyed by correlation ID.
//
// The interactive layer tasks a sensor and must later match the sensor's
// answer, which arrives as a separate webhook, to the code that asked. It
// stores that code here as an [Entry] under the random correlation ID it
// carried in the task's investigation_id, and looks it up again with
// [Table.Resolve] when the answer comes back.
//
// A [Table] is bounded twice over:
//
//   - in space: it is an LRU (github.com/hashicorp/golang-lru/v2) of at most
//     Options.Capacity entries. Adding to a full table pushes out the least
//     recently used entry and reports it to Options.OnEvict; it is counted as
//     evicted, not as timed out, because the task may still answer (a named
//     handler can serve it without the closure).
//   - in time: every entry has an expiry. A background sweeper reports
//     entries that expire while still pending to Options.OnTimeout. Expiries
//     are kept in a min-heap, so a sweep costs O(k log n) for k expired
//     entries rather than a scan of the table.
//
// Every entry leaves the table exactly once, and is handed to exactly one of:
// [Table.Resolve] (for a single-reply entry), [Table.Done], OnTimeout,
// OnEvict, or nobody if the table is closed first. All of these decide under
// one lock, so a reply racing its own timeout yields one or the other, never
// both. Expiry is decided by the clock, not by when the sweeper happens to
// run: once an entry is past its expiry, Resolve and Done no longer return
// it, and its timeout will fire.
//
// A streaming entry (Entry.Streaming) answers many replies: each Resolve
// returns it, counts the reply in Entry.Replies and marks it recently used,
// and it stays pending until Done is called or it expires. Its timeout then
// carries the final reply count so the caller can tell "no answer" from
// "answered, then went quiet".
//
// Callbacks run without the table's lock held, so they may call back into
// the table (except for Close and Shutdown from OnTimeout, which would wait
// for themselves). OnEvict runs on the goroutine of the Add that made room;
// OnTimeout runs on the sweeper goroutine, or on the goroutine that called
// [Table.Sweep] directly, never inside Add, Resolve or Done.
//
// Names differ slightly from the design notes: besides Close, the table has
// Shutdown(ctx), shaped like net/http's Server.Shutdown, for callers that
// must bound the wait for in-flight OnTimeout calls; and Stats also counts
// Done and Dropped entries so the counters add up.
package tracking
