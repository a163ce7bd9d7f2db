#!lua flags=no-writes
--[[
  Live leases that reach the pool's maximum session duration (createdAt + maxSessionMs)
  within (from, to]: the ones their owners are warned about (docs/admission.md,
  "Maximum session duration"). Read only.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] from, epoch ms (exclusive)
  ARGV[3] to, epoch ms (inclusive)

  Returns { code, grants } (always this shape): code = OK | UNKNOWN_POOL (then {})
  grants = { grant, ... } in createdAt order (empty when the pool has no maximum);
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"
--- @include "leases"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local from, to = tonumber(ARGV[2]), tonumber(ARGV[3])
local pool = pool_of_base(base)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, {} } end
if type(spec.maxSessionMs) ~= 'number' then return { OK, {} } end

local out = {}
local started = redis.call('ZRANGEBYSCORE', key_started(base), '(' .. (from - spec.maxSessionMs), to - spec.maxSessionMs)
for _, field in ipairs(started) do
  local r = find_lease(base, field)
  if r and r.expires > now then out[#out + 1] = grant_reply(id_of_field(pool, field), r, r.expires) end
end
return { OK, out }
