#!lua
--[[
  Claims an offer (docs/admission.md, "Waiting room"): the grant with the ticket's id, on the
  member whose slot the offer held (counts unchanged: the lease takes the offer's slot over),
  fencing token and expiry as for a new grant. A claim repeated after it succeeded answers
  that grant while it is live.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] ticket id
  ARGV[3] owner

  Returns { code, grant | false, changes } (always this shape)
  code = OK (with the grant) | TICKET_NOT_FOUND | OFFER_NOT_READY | OFFER_EXPIRED | UNKNOWN_POOL
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "fence"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local pool = pool_of_base(base)
local id, owner = ARGV[2], ARGV[3]
local field = field_of_id(pool, id)
local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, false, {} } end

local changes = {}
if redis.call('HEXISTS', key_waiters(base), field) == 0 then
  local r = find_lease(base, field)
  if r and r.owner == owner and r.expires > now then return { OK, grant_reply(id, r, r.expires), changes } end
  return { TICKET_NOT_FOUND, false, changes }
end
local t, failure = usable_ticket(base, pool, spec, field, owner, now, changes)
if not t then return { failure, false, changes } end
if t.state == 'waiting' then return { OFFER_NOT_READY, false, changes } end

redis.call('ZREM', key_offers(base), field)
redis.call('HINCRBY', key_wait(base), 'o', -1)
redis.call('HDEL', key_waiters(base), field)
redis.call('HDEL', key_wait_owners(base), owner)
count_slot(base, t.member, t.agency, -1) -- insert_lease counts it again
local r = {
  member = t.member, agency = t.agency, owner = owner, client = t.client,
  fence = next_fence(base, now), created = now, ttl = spec.leaseTtlMs,
}
local expires = first_expiry(spec, r.ttl, now)
insert_lease(base, field, r, expires, spec)
audit(base, now, 'claimed', { own = owner, ag = t.agency, m = t.member, g = id, pc = t.class, d = fence_json(r.fence) })
return { OK, grant_reply(id, r, expires), changes }
