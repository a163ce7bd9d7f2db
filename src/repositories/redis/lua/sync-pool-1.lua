#!lua
--[[
  Writes one pool's definition layers, compare-and-set: the config file's definition
  (syncPools), the runtime overrides (operator API, circuit breaker, schedules) and the
  effective definition every admission reads (`<base>config`, computed by the caller as
  base + overrides). Applied only if the layers are still at the revision the caller read,
  so a change never lands over one it did not see. Counts, leases and the fence are kept;
  a new pool's fence starts at 0 (first fencing token 1).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME (the audit record's time)
  ARGV[2] expected revision (0 for a pool whose layers were never written)
  ARGV[3] the config file's PoolSpec as JSON; '' = keep the stored one
  ARGV[4] overrides as JSON; '' = keep the stored ones
  ARGV[5] effective PoolSpec as JSON
  ARGV[6 ..] audit record: field, value, field, value, ... (src/domain/audit.ts order, without t);
             none = no record

  Returns { code, revision, changes } (always this shape): code = OK | STALE_REVISION (then the current revision, {})
  changes = waiting-room changes: capacity raised is offered to the line in this step (includes/queue.lua)
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "queue"
--- @include "leases"

local base = KEYS[1]
local layers = key_layers(base)
local current = tonumber(redis.call('HGET', layers, 'rev') or '0')
if current ~= tonumber(ARGV[2]) then return { STALE_REVISION, current, {} } end

-- Refuse to store what admissions could not read.
local effective = cjson.decode(ARGV[5])
if ARGV[3] ~= '' then cjson.decode(ARGV[3]) redis.call('HSET', layers, 'spec', ARGV[3]) end
if ARGV[4] ~= '' then cjson.decode(ARGV[4]) redis.call('HSET', layers, 'overrides', ARGV[4]) end
local rev = redis.call('HINCRBY', layers, 'rev', 1)
redis.call('SET', key_config(base), ARGV[5])
redis.call('HSET', layers, 'packed', pack_spec(effective))
-- Heartbeats read the maximum session duration from here rather than decode the definition.
-- The start-time index follows it (includes/leases.lua): built from the grant records when a
-- maximum appears, dropped when it goes, left alone while one stays (every lease since is in it).
local had_max = redis.call('HEXISTS', layers, 'max') == 1
if type(effective.maxSessionMs) == 'number' then
  redis.call('HSET', layers, 'max', effective.maxSessionMs)
  if not had_max then started_index_rebuild(base) end
else
  redis.call('HDEL', layers, 'max')
  started_index_drop(base)
end
redis.call('HSETNX', key_state(base), 'fence', 0)
redis.call('HSETNX', key_state(base), 'active', 0)

if #ARGV > 5 then
  local record = { 't', tostring(clock_now(ARGV[1])) }
  for i = 6, #ARGV do record[#record + 1] = ARGV[i] end
  redis.call('XADD', key_audit(base), '*', unpack(record))
end
local changes = {}
offer_step(base, pool_of_base(base), effective, clock_now(ARGV[1]), changes)
return { OK, rev, changes }
