#!lua
--[[
  Heartbeat: extends a live lease by its own TTL from now, never past createdAt + the pool's
  maxSessionMs (docs/admission.md); an expired one is reclaimed.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] grant id
  ARGV[3] owner; '' = any (another owner's lease, expired or not, is not found and not touched)

  Returns { code, grant | false, changes } (always this shape)
  code = OK (with the grant) | GRANT_NOT_FOUND | LEASE_EXPIRED | UNKNOWN_POOL
  changes = waiting-room changes: an expired lease's slot is offered to the line in this step
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local id, owner = ARGV[2], ARGV[3]
local field = field_of_id(pool_of_base(base), id)

-- The whole definition is decoded only when an offer may follow; a renewal needs the maximum only.
if redis.call('EXISTS', key_config(base)) == 0 then return { UNKNOWN_POOL, false, {} } end
local r = find_lease(base, field)
if not r or (owner ~= '' and r.owner ~= owner) then return { GRANT_NOT_FOUND, false, {} } end
if r.expires <= now then
  drop_lease(base, field, r)
  audit(base, now, 'expired', { own = r.owner, ag = r.agency, m = r.member, g = id })
  local changes = {}
  offer_step(base, pool_of_base(base), load_spec(base), now, changes)
  return { LEASE_EXPIRED, false, changes }
end
local expires = renewed_expiry({ maxSessionMs = max_session_ms(base) }, r, now)
renew_lease(base, field, r, expires)
return { OK, grant_reply(id, r, expires), {} }
