#!lua flags=no-writes
--[[
  Pool snapshot: spec, capacity and counts at one instant. Read only, so it may still
  count expired leases that no admission or sweep has reclaimed yet.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME

  Returns { code, at, specJson | false, capacity, active, free, memberCounts, agencyCounts, waiting, offered } (always this shape)
  code = OK | UNKNOWN_POOL (then false, 0, 0, 0, {}, {}, 0, 0)
  (active counts offers: they hold slots; waiting / offered: tickets of the waiting room)
  memberCounts / agencyCounts follow the order of spec.members / spec.agencies;
  free = max(0, free) (a lowered licence limit can make it negative).
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local raw = redis.call('GET', key_config(base))
if not raw then return { UNKNOWN_POOL, now, false, 0, 0, 0, {}, {}, 0, 0 } end
local spec = cjson.decode(raw)
local state = read_state(base)
local cap = pool_capacity(spec, state)
local members, agencies = {}, {}
for i, m in ipairs(spec.members) do members[i] = state['m:' .. m.id] or 0 end
for i, a in ipairs(spec.agencies) do agencies[i] = state['a:' .. a.id] or 0 end
local wait = redis.call('HMGET', key_wait(base), 'n', 'o')
return { OK, now, raw, cap.capacity, cap.active, math.max(0, cap.free), members, agencies, tonumber(wait[1] or '0'), tonumber(wait[2] or '0') }
