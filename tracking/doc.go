// Package tracking holds pending continuations keyed by task ID.
//
// The interactive layer tasks a sensor and must later match the sensor's
// answer, which arrives as a separate webhook, to the code that asked. It
// stores that code in a [Store] as an [Entry] under the task ID it carried
// in the task's investigation_id, and looks it up again with Resolve when
// the answer comes back. A Store is an interface so that a service can
// choose where its pending tasks live; [Table] keeps them in this process's
// memory.
//
// A Table is bounded twice over:
//
//   - in space: it is an LRU (github.com/hashicorp/golang-lru/v2) of at most
//     Options.Capacity entries. Adding to a full table pushes out the least
//     recently used entry and reports it to Options.OnEvict; it is counted as
//     evicted, not as timed out, because the task may still answer (a named
//     handler can serve it without the closure).
//   - in time: every entry has an expiry. When the earliest one is due, the
//     table's [Clock] calls it back and it hands the entries that expired
//     while still pending to Options.OnTimeout. Expiries are kept in a
//     min-heap, so a sweep costs O(k log n) for k expired entries rather
//     than a scan of the table, and an idle table costs nothing.
//
// After a burst, a Table gives memory back: once it holds less than a
// quarter of the most entries it held, its map and expiry queue are
// rebuilt at their present size.
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
// themselves). OnEvict runs on the goroutine of the Add that made room;
// OnTimeout runs on the goroutine of the sweep (the clock's, or a direct
// caller of [Table.Sweep]), never inside Add, Resolve or Done.
//
// Tests drive time with a [ManualClock]: Advance moves it and returns once
// every timeout that became due has been handled.
package tracking
