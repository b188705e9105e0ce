package tracking

import "github.com/redis/go-redis/v9"

// The Redis store decides everything in these scripts: Redis runs a script
// atomically, so whichever replica's script removes an entry is the only one
// that gets it.
//
// An entry is a hash at <prefix>pending:<id> with the fields
//
//	v  the value, as the Codec encoded it
//	c  Created, in Unix nanoseconds
//	x  Expires, in Unix milliseconds
//	s  "1" for a streaming entry, else "0"
//	r  the replies resolved so far
//
// and a member <id> of the sorted set <prefix>expiries scored by x. The
// caller passes its clock's time (Unix milliseconds) as "now": an entry
// with x <= now is expired, exactly as Entry.expired decides it.

// addScript stores an entry unless one with its ID is pending.
//
// KEYS: the entry's hash, the expiries set. ARGV: id, value, created,
// expires, streaming, key TTL (milliseconds). Returns 1 if added, 0 if
// the ID is taken.
var addScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'c', ARGV[3], 'x', ARGV[4], 's', ARGV[5], 'r', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 1
`)

// resolveScript counts a reply to a pending, unexpired entry and removes
// the entry unless it is streaming.
//
// KEYS: the entry's hash, the expiries set. ARGV: id, now. Returns nil if
// no such entry is pending, else {value, created, expires, streaming,
// replies} with replies counting this one.
var resolveScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'v', 'c', 'x', 's', 'r')
if not f[1] or (tonumber(f[3]) or 0) <= tonumber(ARGV[2]) then
  return false
end
local r = (tonumber(f[5]) or 0) + 1
if f[4] == '1' then
  redis.call('HSET', KEYS[1], 'r', r)
else
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return {f[1], f[2], f[3], f[4], r}
`)

// doneScript removes a pending, unexpired entry.
//
// KEYS: the entry's hash, the expiries set. ARGV: id, now. Returns nil if
// no such entry is pending, else {value, created, expires, streaming,
// replies}.
var doneScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'v', 'c', 'x', 's', 'r')
if not f[1] or (tonumber(f[3]) or 0) <= tonumber(ARGV[2]) then
  return false
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {f[1], f[2], f[3], f[4], tonumber(f[5]) or 0}
`)

// claimScript removes up to a given number of expired entries and returns
// them: the replica that runs it is the one that times them out.
//
// KEYS: the expiries set. ARGV: now, the most to claim, the prefix of the
// entries' hashes (<prefix>pending:). Returns a list of {id, value,
// created, expires, streaming, replies}; value is nil for an ID whose hash
// is gone (Redis expired it after RedisKeyMargin).
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, id in ipairs(ids) do
  local k = ARGV[3] .. id
  local f = redis.call('HMGET', k, 'v', 'c', 'x', 's', 'r')
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', k)
  out[i] = {id, f[1], f[2], f[3], f[4], tonumber(f[5]) or 0}
end
return out
`)
