#!lua flags=no-writes
--[[
  Read one lease; changes nothing (an expired, not yet reclaimed lease reads as expired).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] grant id
  ARGV[3] owner; '' = any

  Returns { code, grant | false }: code = OK (with the grant) | GRANT_NOT_FOUND | LEASE_EXPIRED | UNKNOWN_POOL
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "leases"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local id, owner = ARGV[2], ARGV[3]

if redis.call('EXISTS', key_config(base)) == 0 then return { UNKNOWN_POOL, false } end
local r = find_lease(base, field_of_id(pool_of_base(base), id))
if not r or (owner ~= '' and r.owner ~= owner) then return { GRANT_NOT_FOUND, false } end
if r.expires <= now then return { LEASE_EXPIRED, false } end
return { OK, grant_reply(id, r, r.expires) }
