#!lua
--[[
  Counts a failure report for one member (circuit breaker, docs/operations.md): keeps each
  reporter's latest report time and drops reports older than the window, so one reporter
  counts once per window.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] member
  ARGV[3] reporter (pseudonym, or a name such as 'bulk-renewal')
  ARGV[4] window, ms

  Returns { code, reporters within the window } (always this shape): code = OK | UNKNOWN_POOL | UNKNOWN_MEMBER (then 0)
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local member, reporter, window = ARGV[2], ARGV[3], tonumber(ARGV[4])

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, 0 } end
local known = false
for _, m in ipairs(spec.members) do
  if m.id == member then known = true break end
end
if not known then return { UNKNOWN_MEMBER, 0 } end

local key = key_failures(base, member)
redis.call('ZADD', key, now, reporter)
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
-- Garbage collection only (scores decide); an hour of slack for test clocks.
redis.call('PEXPIRE', key, window + 3600000)
return { OK, redis.call('ZCARD', key) }
