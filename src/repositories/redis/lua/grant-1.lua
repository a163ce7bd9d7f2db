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
  ARGV[10] priority class ('' = none)
  ARGV[11] priority rank (higher first; may use headroom reserved for ranks up to it)
  ARGV[12] '1' = wait in line instead of a capacity refusal; '' = no

  Returns { code, subject, expired, changes } (always this shape):
    { CREATED | RECONNECTED | REPLAYED, grant, expired, changes }
    { ENDED, grant as first given, expired, changes }   the Idempotency-Key's grant was released or expired since
    { NOT_ENTITLED | EMPLOYEE_AT_LIMIT | AGENCY_AT_MAXIMUM | POOL_UNAVAILABLE | POOL_FULL
      | CAPACITY_RESERVED | HEADROOM_RESERVED | WAITING_ROOM_FULL, retryAfterSeconds (-1 = none), expired, changes }
    { QUEUED, ticket, expired, changes }
    { UNKNOWN_POOL, false, {}, {} }
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
  ticket = see includes/queue.lua ticket_reply
  expired = { {id, member, agency, owner}, ... } leases reclaimed by this call, oldest first
  changes = waiting-room changes (offers made, waiters dropped), see includes/queue.lua
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "fence"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "reap"
--- @include "choose"
--- @include "audit"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local owner, agency, client, new_id, idem = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local reap_batch, idem_ttl, idem_px = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local pc, rank, wants_wait = ARGV[10], tonumber(ARGV[11]), ARGV[12] == '1'
local pool = pool_of_base(base)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, false, {}, {} } end

-- 2. Reclaim what expired, then offer what that freed to the waiting room first.
local changes = {}
local expired = reap_expired(base, pool, now, reap_batch)
reap_waiting(base, pool, now, reap_batch, changes)
offer_step(base, pool, spec, now, changes)
local wr = wait_room(spec)

local CODE_NAMES = {
  [NOT_ENTITLED] = 'not-entitled', [EMPLOYEE_AT_LIMIT] = 'employee-at-limit', [AGENCY_AT_MAXIMUM] = 'agency-at-maximum',
  [POOL_UNAVAILABLE] = 'pool-unavailable', [POOL_FULL] = 'pool-full', [CAPACITY_RESERVED] = 'capacity-reserved',
  [HEADROOM_RESERVED] = 'headroom-reserved', [WAITING_ROOM_FULL] = 'waiting-room-full',
}
local function refuse_code(code, retry)
  audit(base, now, 'refused', { own = owner, ag = agency, code = CODE_NAMES[code], pc = pc })
  return { code, retry, expired, changes }
end
-- A capacity refusal waits in line when asked to (over the admission rate, always).
local function wait_or(code, reason, always)
  if not wr or not (always or wants_wait) then return refuse_code(code, spec.retryAfterSeconds) end
  if wait_field(base, 'n') >= wr.maxWaiters then return refuse_code(WAITING_ROOM_FULL, spec.retryAfterSeconds) end
  local t = { owner = owner, agency = agency, client = client, class = pc, rank = rank, reason = reason, joined = now,
              seq = redis.call('HINCRBY', key_wait(base), 'seq', 1), state = 'waiting', by = now + wr.checkInMs }
  local field = field_of_id(pool, new_id)
  join_line(base, field, t)
  audit(base, now, 'queued', { own = owner, ag = agency, g = new_id, pc = pc, d = '{"reason":"' .. reason .. '"}' })
  return { QUEUED, ticket_reply(base, pool, field, t, now), expired, changes }
end

-- The idempotency memo: remembered-until, then the grant as first answered (its owner is
-- in the key name, its id stored as its field).
local idem_key = idem ~= '' and key_idempotency(base, owner, idem) or nil
local function remember(id, r, expires)
  if not idem_key then return end
  local memo = cmsgpack.pack(now + idem_ttl, field_of_id(pool, id), r.member, r.agency, r.client, r.fence, r.created, expires, r.ttl)
  redis.call('SET', idem_key, memo, 'PX', idem_px)
end

-- 3. A remembered Idempotency-Key: the grant it created if live, else that it has ended.
if idem_key then
  local memo = redis.call('GET', idem_key)
  if memo then
    local til, field, member, ag, cl, fence, created, expires, ttl = cmsgpack.unpack(memo)
    if now < til then
      local id = id_of_field(pool, field)
      local first = { member = member, agency = ag, owner = owner, client = cl, fence = fence, created = created, ttl = ttl }
      local current = find_lease(base, field)
      if current and current.fence == fence and current.expires and current.expires > now then
        return { REPLAYED, grant_reply(id, current, current.expires), expired, changes }
      end
      return { ENDED, grant_reply(id, first, expires), expired, changes }
    end
  end
end

-- 4. Entitlement.
local share
for _, a in ipairs(spec.agencies) do
  if a.id == agency then share = a break end
end
if not share then return refuse_code(NOT_ENTITLED, -1) end

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
      audit(base, now, 'reconnected', { own = owner, ag = agency, m = r.member, g = id, pc = pc })
      return { RECONNECTED, grant_reply(id, r, expires), expired, changes }
    end
    live = live + 1
  end
end

-- 5b. Someone who already waits in this pool is answered with their ticket (one per owner and pool).
local own_field = redis.call('HGET', key_wait_owners(base), owner)
if own_field then
  local t = find_ticket(base, own_field)
  if t.by > now then return { QUEUED, ticket_reply(base, pool, own_field, t, now), expired, changes } end
  drop_ticket(base, pool, own_field, t, t.state == 'waiting' and 'missed-check-in' or 'offer-expired', now, changes)
  offer_step(base, pool, spec, now, changes)
end

if live >= spec.perEmployeeLimit then return refuse_code(EMPLOYEE_AT_LIMIT, -1) end

local state = read_state(base)

-- 7. The agency's maximum.
local agency_count = state['a:' .. agency] or 0
if agency_count >= share.maximum then return wait_or(AGENCY_AT_MAXIMUM, 'agency-at-maximum') end

-- 8./9. Members in service, free capacity.
local cap = pool_capacity(spec, state)
if cap.in_service == 0 then return wait_or(POOL_UNAVAILABLE, 'pool-unavailable') end
if cap.free < 1 then return wait_or(POOL_FULL, 'pool-full') end

-- 10. Never borrow another agency's unused guarantee. 10a. Nor headroom reserved for higher ranks.
local reserved = reserved_for(spec, state, agency)
if cap.free - reserved < 1 then return wait_or(CAPACITY_RESERVED, 'capacity-reserved') end
if cap.free - reserved - headroom_above(spec, rank) < 1 then return wait_or(HEADROOM_RESERVED, 'headroom-reserved') end

-- 10b. The admission rate: over it, wait (whether asked to or not).
if wr then
  refill(base, wr, now)
  if not has_token(base, wr) then return wait_or(nil, 'admission-rate', true) end
  take_token(base, wr)
end

-- 11. Member choice (free >= 1 guarantees an in-service member with room).
local member = choose_member(spec, state)
if not member then return wait_or(POOL_FULL, 'pool-full') end

-- 12. Create.
local r = {
  member = member.id, agency = agency, owner = owner, client = client,
  fence = next_fence(base, now), created = now, ttl = spec.leaseTtlMs,
}
local expires = first_expiry(spec, r.ttl, now)
insert_lease(base, field_of_id(pool, new_id), r, expires, spec)
remember(new_id, r, expires)
audit(base, now, 'granted', { own = owner, ag = agency, m = r.member, g = new_id, pc = pc, d = fence_json(r.fence) })
return { CREATED, grant_reply(new_id, r, expires), expired, changes }
