#!lua
--[[
  Heartbeat: extends a live lease by its own TTL from now, never past createdAt + the pool's
  maxSessionMs (docs/admission.md); an expired one is reclaimed.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] grant id
  ARGV[3] owner; '' = any (another owner's lease, expired or not, is not found and not touched)

  Returns { OK, grant } | { GRANT_NOT_FOUND } | { LEASE_EXPIRED } | { UNKNOWN_POOL }
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
local id, owner = ARGV[2], ARGV[3]
local field = field_of_id(pool_of_base(base), id)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL } end
local r = find_lease(base, field)
if not r or (owner ~= '' and r.owner ~= owner) then return { GRANT_NOT_FOUND } end
if r.expires <= now then
  drop_lease(base, field, r)
  return { LEASE_EXPIRED }
end
local expires = renewed_expiry(spec, r, now)
renew_lease(base, field, r, expires)
return { OK, grant_reply(id, r, expires) }
