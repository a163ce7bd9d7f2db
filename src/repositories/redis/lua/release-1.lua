#!lua
--[[
  Release: ends a live lease and returns its capacity; an expired one is reclaimed.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] grant id
  ARGV[3] owner; '' = any (another owner's lease, expired or not, is not found and not touched)

  Returns { code, grant (as it was) | false, changes } (always this shape)
  code = OK (with the grant) | GRANT_NOT_FOUND | LEASE_EXPIRED | UNKNOWN_POOL
  changes = waiting-room changes: the freed slot is offered to the line in this step (includes/queue.lua)
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "leases"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local id, owner = ARGV[2], ARGV[3]
local pool = pool_of_base(base)
local field = field_of_id(pool, id)

if redis.call('EXISTS', key_config(base)) == 0 then return { UNKNOWN_POOL, false, {} } end
local r = find_lease(base, field)
if not r or (owner ~= '' and r.owner ~= owner) then return { GRANT_NOT_FOUND, false, {} } end
drop_lease(base, field, r)
local changes = {}
-- The freed slot goes to the line; the definition is decoded only when someone waits.
local function offer_freed()
  if wait_field(base, 'n') > 0 then offer_step(base, pool, load_spec(base), now, changes) end
end
if r.expires <= now then
  audit(base, now, 'expired', { own = r.owner, ag = r.agency, m = r.member, g = id })
  offer_freed()
  return { LEASE_EXPIRED, false, changes }
end
audit(base, now, 'released', { own = r.owner, ag = r.agency, m = r.member, g = id, d = owner == '' and '{"via":"operator"}' or '{"via":"owner"}' })
offer_freed()
return { OK, grant_reply(id, r, r.expires), changes }
