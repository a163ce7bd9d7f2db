--- @include "codes"
--- @include "keys"
--- @include "record"
--- @include "spec"
--- @include "leases"
--- @include "choose"
--- @include "audit"
-- The waiting room of a pool (docs/admission.md, "Waiting room"), mirrored by
-- src/repositories/memory/memory-waiting-room.ts. Tickets live in <base>waiters (field as
-- for grants), waiting ones in one FIFO per (rank, agency) <base>q:<rank>:<agency> scored
-- by join sequence, with their check-in deadline in <base>checkins; offered ones in
-- <base>offers scored by the end of their claim window. <base>wait holds the counts
-- (n waiting, o offered, q:<rank>:<agency>), the join sequence, the admission-rate bucket
-- (tk thousandths of an admission, tt its time) and offers per 10-second bucket (b:<n>, bl).
-- Changes for live pushes are gathered in a table the script returns:
--   { 'offered', ticket } | { 'left', ticketId, owner, reason }

local OFFER_BUCKET_MS, OFFER_BUCKETS = 10000, 30

local function pack_ticket(t)
  return cmsgpack.pack(t.owner, t.agency, t.client, t.class, t.rank, t.seq, t.joined, t.reason, t.state, t.member or '', t.till or 0, t.by)
end

local function find_ticket(base, field)
  local raw = redis.call('HGET', key_waiters(base), field)
  if not raw then return nil end
  local owner, agency, client, class, rank, seq, joined, reason, state, member, til, by = cmsgpack.unpack(raw)
  return { owner = owner, agency = agency, client = client, class = class, rank = rank, seq = seq, joined = joined,
           reason = reason, state = state, member = member ~= '' and member or nil, till = til, by = by }
end

local function wait_field(base, name) return tonumber(redis.call('HGET', key_wait(base), name) or '0') end

local function wait_room(spec)
  if type(spec.waitingRoom) == 'table' then return spec.waitingRoom end
  return nil
end

local function rate_of(wr)
  if wr and type(wr.admissionsPerSecond) == 'number' then return wr.admissionsPerSecond end
  return nil
end

-- The sub-queues present: { {rank, agency, key, count}, ... }.
local function sub_queues(base)
  local flat = redis.call('HGETALL', key_wait(base))
  local out = {}
  for i = 1, #flat, 2 do
    local rank, agency = string.match(flat[i], '^q:(%-?%d+):(.+)$')
    if rank then out[#out + 1] = { rank = tonumber(rank), agency = agency, count = tonumber(flat[i + 1]) } end
  end
  return out
end

local function position_of(base, t)
  local ahead = 0
  for _, q in ipairs(sub_queues(base)) do
    if q.rank > t.rank then ahead = ahead + q.count
    elseif q.rank == t.rank then ahead = ahead + redis.call('ZCOUNT', key_queue(base, q.rank, q.agency), '-inf', '(' .. t.seq) end
  end
  return ahead + 1
end

-- Estimated wait, ms (-1 = unknown): position x time the recent offers took / their number.
local function estimate_of(base, position, now)
  local b = math.floor(now / OFFER_BUCKET_MS)
  local names = {}
  for i = b - OFFER_BUCKETS + 1, b do names[#names + 1] = 'b:' .. i end
  local counts = redis.call('HMGET', key_wait(base), unpack(names))
  local count, oldest = 0, nil
  for i, n in ipairs(counts) do
    if n and tonumber(n) > 0 then
      count = count + tonumber(n)
      if not oldest then oldest = b - OFFER_BUCKETS + i end
    end
  end
  if count == 0 then return -1 end
  local elapsed = math.max(now - oldest * OFFER_BUCKET_MS, OFFER_BUCKET_MS)
  return math.ceil(position * elapsed / count)
end

-- { id, owner, agency, clientId, class, rank, reason, joinedAt, state, position, checkInBy, member ('' none), until (0 none), estimate (-1 none) }
local function ticket_reply(base, pool, field, t, now)
  local position, estimate = 0, -1
  if t.state == 'waiting' then
    position = position_of(base, t)
    estimate = estimate_of(base, position, now)
  end
  return { id_of_field(pool, field), t.owner, t.agency, t.client, t.class, t.rank, t.reason, t.joined, t.state,
           position, t.by, t.member or '', t.till or 0, estimate }
end

local function save_ticket(base, field, t) redis.call('HSET', key_waiters(base), field, pack_ticket(t)) end

local function enqueue(base, field, t)
  local wait = key_wait(base)
  redis.call('ZADD', key_queue(base, t.rank, t.agency), t.seq, field)
  redis.call('HINCRBY', wait, 'q:' .. t.rank .. ':' .. t.agency, 1)
  redis.call('HINCRBY', wait, 'n', 1)
  redis.call('ZADD', key_check_ins(base), t.by, field)
end

local function dequeue(base, field, t)
  local wait, q = key_wait(base), 'q:' .. t.rank .. ':' .. t.agency
  redis.call('ZREM', key_queue(base, t.rank, t.agency), field)
  if redis.call('HINCRBY', wait, q, -1) <= 0 then redis.call('HDEL', wait, q) end
  redis.call('HINCRBY', wait, 'n', -1)
  redis.call('ZREM', key_check_ins(base), field)
end

local function join_line(base, field, t)
  save_ticket(base, field, t)
  redis.call('HSET', key_wait_owners(base), t.owner, field)
  enqueue(base, field, t)
end

local function count_slot(base, member, agency, by)
  local state = key_state(base)
  redis.call('HINCRBY', state, 'active', by)
  redis.call('HINCRBY', state, 'm:' .. member, by)
  redis.call('HINCRBY', state, 'a:' .. agency, by)
end

-- Takes a ticket out of the waiting room; an offer's slot is returned.
local function drop_ticket(base, pool, field, t, reason, now, changes)
  if t.state == 'waiting' then
    dequeue(base, field, t)
  else
    redis.call('ZREM', key_offers(base), field)
    redis.call('HINCRBY', key_wait(base), 'o', -1)
    count_slot(base, t.member, t.agency, -1)
  end
  redis.call('HDEL', key_waiters(base), field)
  redis.call('HDEL', key_wait_owners(base), t.owner)
  local id = id_of_field(pool, field)
  local f = { own = t.owner, ag = t.agency, g = id, pc = t.class }
  if t.state == 'offered' then f.m = t.member end
  if t.state == 'offered' and reason == 'offer-expired' then
    audit(base, now, 'offer-expired', f)
  else
    f.d = '{"reason":"' .. reason .. '"}'
    audit(base, now, 'left-queue', f)
  end
  changes[#changes + 1] = { 'left', id, t.owner, reason }
end

local function refill(base, wr, now)
  local rate = rate_of(wr)
  if not rate then return end
  local wait = key_wait(base)
  local tk, tt = redis.call('HGET', wait, 'tk'), redis.call('HGET', wait, 'tt')
  if not tk then
    redis.call('HSET', wait, 'tk', rate * 1000, 'tt', now)
  elseif now > tonumber(tt) then
    redis.call('HSET', wait, 'tk', math.min(rate * 1000, tonumber(tk) + (now - tonumber(tt)) * rate), 'tt', now)
  end
end

local function has_token(base, wr)
  if not rate_of(wr) then return true end
  return wait_field(base, 'tk') >= 1000
end

local function take_token(base, wr)
  if rate_of(wr) then redis.call('HINCRBY', key_wait(base), 'tk', -1000) end
end

local function note_offer(base, now)
  local wait = key_wait(base)
  local b = math.floor(now / OFFER_BUCKET_MS)
  local last = redis.call('HGET', wait, 'bl')
  if last and tonumber(last) ~= b then
    for i = tonumber(last) - OFFER_BUCKETS + 1, math.min(tonumber(last), b - OFFER_BUCKETS) do redis.call('HDEL', wait, 'b:' .. i) end
  end
  redis.call('HSET', wait, 'bl', b)
  redis.call('HINCRBY', wait, 'b:' .. b, 1)
end

local function reserved_for(spec, state, agency)
  local reserved = 0
  for _, a in ipairs(spec.agencies) do
    if a.id ~= agency then
      local unused = a.guaranteed - (state['a:' .. a.id] or 0)
      if unused > 0 then reserved = reserved + unused end
    end
  end
  return reserved
end

local function headroom_above(spec, rank)
  local sum = 0
  if type(spec.headroom) == 'table' then
    for _, h in ipairs(spec.headroom) do if h.rank > rank then sum = sum + h.slots end end
  end
  return sum
end

local function live_of(base, owner, now)
  local n = 0
  for _, f in ipairs(owner_fields(base, owner)) do
    local r = find_lease(base, f)
    if r and r.expires and r.expires > now then n = n + 1 end
  end
  return n
end

local function share_of(spec, agency)
  for _, a in ipairs(spec.agencies) do if a.id == agency then return a end end
  return nil
end

-- The offer step: while a slot is free (and the admission rate allows), the first waiter in
-- line order (rank, then arrival) whom the admission rules admit gets an offer holding a slot
-- for the claim window; waiters past their deadline or no longer admissible drop out.
local function offer_step(base, pool, spec, now, changes)
  local wr = wait_room(spec)
  if not wr or wait_field(base, 'n') == 0 then return end
  refill(base, wr, now)
  while true do
    local state = read_state(base)
    local cap = pool_capacity(spec, state)
    if cap.in_service == 0 or cap.free < 1 or not has_token(base, wr) then return end
    local heads = {}
    for _, q in ipairs(sub_queues(base)) do
      local head = redis.call('ZRANGE', key_queue(base, q.rank, q.agency), 0, 0, 'WITHSCORES')
      if head[1] then heads[#heads + 1] = { field = head[1], rank = q.rank, seq = tonumber(head[2]) } end
    end
    table.sort(heads, function(a, b)
      if a.rank ~= b.rank then return a.rank > b.rank end
      return a.seq < b.seq
    end)
    local chosen, dropped
    for _, h in ipairs(heads) do
      local t = find_ticket(base, h.field)
      local share = share_of(spec, t.agency)
      local reason
      if t.by <= now then reason = 'missed-check-in'
      elseif not share then reason = 'not-entitled'
      elseif live_of(base, t.owner, now) >= spec.perEmployeeLimit then reason = 'employee-at-limit' end
      if reason then
        drop_ticket(base, pool, h.field, t, reason, now, changes)
        dropped = true
        break
      end
      local reserved = reserved_for(spec, state, t.agency)
      if (state['a:' .. t.agency] or 0) < share.maximum and cap.free - reserved >= 1
          and cap.free - reserved - headroom_above(spec, t.rank) >= 1 then
        chosen = { field = h.field, t = t }
        break
      end
    end
    if not dropped then
      if not chosen then return end
      local t, field = chosen.t, chosen.field
      local member = choose_member(spec, state)
      count_slot(base, member.id, t.agency, 1)
      dequeue(base, field, t)
      t.state, t.member, t.till = 'offered', member.id, now + wr.claimWindowMs
      t.by = t.till
      save_ticket(base, field, t)
      redis.call('ZADD', key_offers(base), t.till, field)
      redis.call('HINCRBY', key_wait(base), 'o', 1)
      take_token(base, wr)
      note_offer(base, now)
      audit(base, now, 'offered', { own = t.owner, ag = t.agency, m = member.id, g = id_of_field(pool, field), pc = t.class,
                                    d = '{"until":' .. string.format('%d', t.till) .. '}' })
      changes[#changes + 1] = { 'offered', ticket_reply(base, pool, field, t, now) }
    end
  end
end

-- Offers past their claim window, then waiters past their check-in deadline, up to `limit` each.
local function reap_waiting(base, pool, now, limit, changes)
  for _, field in ipairs(redis.call('ZRANGEBYSCORE', key_offers(base), '-inf', now, 'LIMIT', 0, limit)) do
    drop_ticket(base, pool, field, find_ticket(base, field), 'offer-expired', now, changes)
  end
  for _, field in ipairs(redis.call('ZRANGEBYSCORE', key_check_ins(base), '-inf', now, 'LIMIT', 0, limit)) do
    drop_ticket(base, pool, field, find_ticket(base, field), 'missed-check-in', now, changes)
  end
end

-- The owner's ticket if still good; one past its time is dropped now (its slot offered on).
-- Returns t, nil | nil, failure code.
local function usable_ticket(base, pool, spec, field, owner, now, changes)
  local t = find_ticket(base, field)
  if not t or t.owner ~= owner then return nil, TICKET_NOT_FOUND end
  if t.by > now then return t, nil end
  local waiting = t.state == 'waiting'
  drop_ticket(base, pool, field, t, waiting and 'missed-check-in' or 'offer-expired', now, changes)
  offer_step(base, pool, spec, now, changes)
  return nil, waiting and TICKET_NOT_FOUND or OFFER_EXPIRED
end
