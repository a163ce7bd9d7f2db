#!lua
--[[
  Release: ends a live lease and returns its capacity; an expired one is reclaimed.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] grant id
  ARGV[3] owner; '' = any (another owner's lease, expired or not, is not found and not touched)

  Returns { OK, grant (as it was) } | { GRANT_NOT_FOUND } | { LEASE_EXPIRED } | { UNKNOWN_POOL }
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
local field = field_of_id(pool_of_base(base), id)

if redis.call('EXISTS', key_config(base)) == 0 then return { UNKNOWN_POOL } end
local r = find_lease(base, field)
if not r or (owner ~= '' and r.owner ~= owner) then return { GRANT_NOT_FOUND } end
drop_lease(base, field, r)
if r.expires <= now then return { LEASE_EXPIRED } end
return { OK, grant_reply(id, r, r.expires) }
