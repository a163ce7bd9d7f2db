#!lua flags=no-writes
--[[
  Live leases of one member: what its gateway agent should be carrying (docs/admission.md,
  "Bulk renewal"). Read only: no audit record, no fencing token. Reads the member's expiry set
  alone, never the grant records, so nothing about who holds a lease leaves the script.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] member

  Returns { code, ids, expiresAts } (always this shape)
  code = OK | UNKNOWN_POOL | UNKNOWN_MEMBER (then {}, {})
  ids = grant ids with expiresAt > now, soonest expiry first, ties in byte order of the stored field;
  expiresAts = their expiry (epoch ms), in the same order
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local member = ARGV[2]
local pool = pool_of_base(base)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, {}, {} } end
local known = false
for _, m in ipairs(spec.members) do
  if m.id == member then known = true break end
end
if not known then return { UNKNOWN_MEMBER, {}, {} } end

local flat = redis.call('ZRANGEBYSCORE', key_member_expiry(base, member), '(' .. now, '+inf', 'WITHSCORES')
local ids, expires = {}, {}
for i = 1, #flat, 2 do
  ids[#ids + 1] = id_of_field(pool, flat[i])
  expires[#expires + 1] = tonumber(flat[i + 1])
end
return { OK, ids, expires }
