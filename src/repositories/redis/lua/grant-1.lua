#!lua
--[[
  Admission (docs/admission.md, "Grant"): reap, then replay / reconnect / refuse / create.

  KEYS[1] pool base '<prefix>{<pool>}:' (all other keys derive from it, same slot)
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] owner (pseudonymised)
  ARGV[3] agency
  ARGV[4] clientId
  ARGV[5] id for a new grant
  ARGV[6] Idempotency-Key; '' = none
  ARGV[7] reapBatch: expired leases reclaimed first
  ARGV[8] idempotency TTL, ms (how long a key is remembered, in store time)
  ARGV[9] Redis TTL of the idempotency memo, ms (garbage collection only; >= ARGV[8])

  Returns
    { CREATED | RECONNECTED | REPLAYED, grant, expired }
    { NOT_ENTITLED | EMPLOYEE_AT_LIMIT | AGENCY_AT_MAXIMUM | POOL_UNAVAILABLE | POOL_FULL
      | CAPACITY_RESERVED, retryAfterSeconds (-1 = none), expired }
    { UNKNOWN_POOL }
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
  expired = { {id, member, agency, owner}, ... } leases reclaimed by this call, oldest first
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "reap"
--- @include "choose"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local owner, agency, client, new_id, idem = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local reap_batch, idem_ttl, idem_px = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local pool = pool_of_base(base)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL } end

local expired = reap_expired(base, pool, now, reap_batch)

-- The idempotency memo: remembered-until, then the grant as first answered (its owner is
-- in the key name, its id stored as its field).
local idem_key = idem ~= '' and key_idempotency(base, owner, idem) or nil
local function remember(id, r, expires)
  if not idem_key then return end
  local memo = cmsgpack.pack(now + idem_ttl, field_of_id(pool, id), r.member, r.agency, r.client, r.fence, r.created, expires, r.ttl)
  redis.call('SET', idem_key, memo, 'PX', idem_px)
end

-- 3. A remembered Idempotency-Key: the grant it created, live or as first given.
if idem_key then
  local memo = redis.call('GET', idem_key)
  if memo then
    local til, field, member, ag, cl, fence, created, expires, ttl = cmsgpack.unpack(memo)
    if now < til then
      local id = id_of_field(pool, field)
      local first = { member = member, agency = ag, owner = owner, client = cl, fence = fence, created = created, ttl = ttl }
      local current = find_lease(base, field)
      if current and current.fence == fence and current.expires and current.expires > now then
        return { REPLAYED, grant_reply(id, current, current.expires), expired }
      end
      return { REPLAYED, grant_reply(id, first, expires), expired }
    end
  end
end

-- 4. Entitlement.
local share
for _, a in ipairs(spec.agencies) do
  if a.id == agency then share = a break end
end
if not share then return { NOT_ENTITLED, -1, expired } end

-- 5./6. The owner's live leases: reconnect from the same client, or count them.
local live = 0
for _, field in ipairs(owner_fields(base, owner)) do
  local r = find_lease(base, field)
  if r and r.expires and r.expires > now then
    if r.client == client then
      local expires = renewed_expiry(spec, r, now)
      renew_lease(base, field, r, expires)
      local id = id_of_field(pool, field)
      remember(id, r, expires)
      return { RECONNECTED, grant_reply(id, r, expires), expired }
    end
    live = live + 1
  end
end
if live >= spec.perEmployeeLimit then return { EMPLOYEE_AT_LIMIT, -1, expired } end

local state = read_state(base)
local retry = spec.retryAfterSeconds

-- 7. The agency's maximum.
local agency_count = state['a:' .. agency] or 0
if agency_count >= share.maximum then return { AGENCY_AT_MAXIMUM, retry, expired } end

-- 8./9. Members in service, free capacity.
local cap = pool_capacity(spec, state)
if cap.in_service == 0 then return { POOL_UNAVAILABLE, retry, expired } end
if cap.free < 1 then return { POOL_FULL, retry, expired } end

-- 10. Never borrow another agency's unused guarantee.
local reserved = 0
for _, a in ipairs(spec.agencies) do
  if a.id ~= agency then
    local unused = a.guaranteed - (state['a:' .. a.id] or 0)
    if unused > 0 then reserved = reserved + unused end
  end
end
if cap.free - reserved < 1 then return { CAPACITY_RESERVED, retry, expired } end

-- 11. Member choice (free >= 1 guarantees an in-service member with room).
local member = choose_member(spec, state)
if not member then return { POOL_FULL, retry, expired } end

-- 12. Create.
local r = {
  member = member.id, agency = agency, owner = owner, client = client,
  fence = redis.call('HINCRBY', key_state(base), 'fence', 1), created = now, ttl = spec.leaseTtlMs,
}
local expires = first_expiry(spec, r.ttl, now)
insert_lease(base, field_of_id(pool, new_id), r, expires)
remember(new_id, r, expires)
return { CREATED, grant_reply(new_id, r, expires), expired }
