--- @include "keys"
--- @include "record"
--- @include "leases"
--- @include "audit"
-- Reclaims up to `limit` expired leases (expiresAt <= now) of a pool, oldest expiry
-- first, ties by grant id in byte order. The heads of the member expiry sets are
-- merged with a small binary heap, so the cost is O(members + reaped * log members).
-- Returns { {id, member, agency, owner}, ... } in reaping order.

local function reap_before(a, b)
  if a.score ~= b.score then return a.score < b.score end
  return bytes_less(a.id, b.id)
end

local function heap_push(heap, item)
  heap[#heap + 1] = item
  local i = #heap
  while i > 1 do
    local parent = math.floor(i / 2)
    if not reap_before(heap[i], heap[parent]) then break end
    heap[i], heap[parent] = heap[parent], heap[i]
    i = parent
  end
end

local function heap_pop(heap)
  local top = heap[1]
  local last = table.remove(heap)
  if #heap > 0 then
    heap[1] = last
    local i, n = 1, #heap
    while true do
      local l, r, m = 2 * i, 2 * i + 1, i
      if l <= n and reap_before(heap[l], heap[m]) then m = l end
      if r <= n and reap_before(heap[r], heap[m]) then m = r end
      if m == i then break end
      heap[i], heap[m] = heap[m], heap[i]
      i = m
    end
  end
  return top
end

-- Pushes the oldest entry of a member's expiry set when it has expired; returns the expiry of
-- one that has not (nil when there is none).
local function push_expired_head(heap, base, pool, member, now)
  local field, score = expiry_head(base, member)
  if not field then return nil end
  if score > now then return score end
  heap_push(heap, { score = score, field = field, id = id_of_field(pool, field), member = member })
  return nil
end

-- `full`: walk the expiry sets even when the pool's next-expiry bound (state 'nx', see
-- includes/leases.lua) says nothing has expired yet. The sweeper reaps in full; an admission trusts
-- the bound and skips the walk until then (measured: the walk was half of a grant's time in Redis).
local function reap_expired(base, pool, now, limit, full)
  local reaped = {}
  if limit <= 0 then return reaped end
  if not full then
    local nx = redis.call('HGET', key_state(base), 'nx')
    if nx and now < tonumber(nx) then return reaped end
  end
  local heap, soonest = {}, NO_EXPIRY
  local function push(member)
    local at = push_expired_head(heap, base, pool, member, now)
    if at and at < soonest then soonest = at end
  end
  for _, member in ipairs(members_holding(base)) do push(member) end
  while #reaped < limit and #heap > 0 do
    local item = heap_pop(heap)
    local r = unpack_record(redis.call('HGET', key_grants(base), item.field))
    drop_lease(base, item.field, r)
    audit(base, now, 'expired', { own = r.owner, ag = r.agency, m = r.member, g = item.id })
    reaped[#reaped + 1] = { item.id, r.member, r.agency, r.owner }
    push(item.member)
  end
  -- Stopped at the limit: the rest is due now, and the next call reaps on.
  if #heap > 0 then soonest = heap[1].score end
  redis.call('HSET', key_state(base), 'nx', string.format('%.0f', soonest))
  return reaped
end
