--- @include "keys"
--- @include "record"
-- Storing and dropping leases: record, expiry entry, owner index and counts change together.

-- The owner index is spread over OWNER_BUCKETS small hashes so that each stays a listpack
-- (up to hash-max-listpack-entries, 128 by default, i.e. ~100k owners per pool): about 45
-- bytes per owner instead of ~100 as entries of one large hash.
local OWNER_BUCKETS = 1024

-- The bucket is h = (h * 31 + byte) mod 1048573 over the owner's bytes, which must never change:
-- the index of every lease held is filed under it. It is computed six bytes at a time (one
-- string.byte call, one modulo): h < 2^20 and 31^6 < 2^30, so no step leaves the doubles' exact
-- range and the result is that of reducing after every byte. An admission asks for the same owner's
-- bucket twice (its leases, then the new entry), so the last answer is kept.
local OWNER_HASH_MOD = 1048573
local last_owner, last_owner_base, last_owner_key

local function owner_key(base, owner)
  if owner == last_owner and base == last_owner_base then return last_owner_key end
  local h, n = 0, #owner
  for i = 1, n, 6 do
    local a, b, c, d, e, f = string.byte(owner, i, i + 5)
    if f then
      h = (((((h * 31 + a) * 31 + b) * 31 + c) * 31 + d) * 31 + e) * 31 + f
    else
      for _, x in ipairs({ a, b, c, d, e }) do h = h * 31 + x end
    end
    h = h % OWNER_HASH_MOD
  end
  last_owner, last_owner_base, last_owner_key = owner, base, key_owner_bucket(base, h % OWNER_BUCKETS)
  return last_owner_key
end

local function owner_fields(base, owner)
  local list = redis.call('HGET', owner_key(base, owner), owner)
  local fields = {}
  if list then
    for f in string.gmatch(list, '%S+') do fields[#fields + 1] = f end
  end
  return fields
end

local function owner_index_add(base, owner, field)
  local key = owner_key(base, owner)
  local list = redis.call('HGET', key, owner)
  if list then list = list .. ' ' .. field else list = field end
  redis.call('HSET', key, owner, list)
end

local function owner_index_remove(base, owner, field)
  local kept = {}
  for _, f in ipairs(owner_fields(base, owner)) do
    if f ~= field then kept[#kept + 1] = f end
  end
  if #kept == 0 then
    redis.call('HDEL', owner_key(base, owner), owner)
  else
    redis.call('HSET', owner_key(base, owner), owner, table.concat(kept, ' '))
  end
end

-- The record of a field and its expiry, or nil when there is no such lease.
local function find_lease(base, field)
  local raw = redis.call('HGET', key_grants(base), field)
  if not raw then return nil end
  local r = unpack_record(raw)
  r.expires = tonumber(redis.call('ZSCORE', key_member_expiry(base, r.member), field))
  return r
end

-- <base>state 'nx' ("next expiry"): no lease of the pool expires before this time (epoch ms), so
-- an admission's reap that comes earlier has nothing to find and skips the walk over every member's
-- expiry set (includes/reap.lua). Absent: not known. It is a lower bound and stays one: a new
-- lease lowers it to its own expiry when that is sooner; a renewal never moves an expiry earlier
-- (renewed_expiry) and a drop removes one, so neither can make it wrong; a full reap sets it to the
-- soonest expiry left (NO_EXPIRY when none is).
local NO_EXPIRY = 9e15

local function lower_next_expiry(base, expires)
  local nx = redis.call('HGET', key_state(base), 'nx')
  if nx and expires < tonumber(nx) then redis.call('HSET', key_state(base), 'nx', string.format('%.0f', expires)) end
end

-- The start-time index <base>started serves sessionsEnding only, so it is kept only while the
-- effective definition sets a maximum session duration (spec.maxSessionMs): pools without one
-- pay nothing for it. sync-pool-1.lua builds it from the grant records when a maximum is set
-- and drops it when the maximum is removed (started_index_rebuild / started_index_drop).
local function insert_lease(base, field, r, expires, spec)
  local state = key_state(base)
  redis.call('HSET', key_grants(base), field, pack_record(r))
  redis.call('ZADD', key_member_expiry(base, r.member), expires, field)
  lower_next_expiry(base, expires)
  if type(spec.maxSessionMs) == 'number' then redis.call('ZADD', key_started(base), r.created, field) end
  owner_index_add(base, r.owner, field)
  redis.call('HINCRBY', state, 'active', 1)
  redis.call('HINCRBY', state, 'm:' .. r.member, 1)
  redis.call('HINCRBY', state, 'a:' .. r.agency, 1)
end

local function drop_lease(base, field, r)
  local state = key_state(base)
  redis.call('HDEL', key_grants(base), field)
  redis.call('ZREM', key_member_expiry(base, r.member), field)
  redis.call('ZREM', key_started(base), field)
  owner_index_remove(base, r.owner, field)
  redis.call('HINCRBY', state, 'active', -1)
  redis.call('HINCRBY', state, 'm:' .. r.member, -1)
  redis.call('HINCRBY', state, 'a:' .. r.agency, -1)
end

local function renew_lease(base, field, r, expires)
  redis.call('ZADD', key_member_expiry(base, r.member), 'XX', expires, field)
end

-- Builds <base>started from the grant records (createdAt of every lease held), in batches so
-- no single command takes an unbounded argument list. Runs once, when a maximum is set on a
-- pool that had none.
local STARTED_BATCH = 500

local function started_index_rebuild(base)
  local started = key_started(base)
  redis.call('DEL', started)
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', key_grants(base), cursor, 'COUNT', STARTED_BATCH)
    cursor = page[1]
    local flat, args = page[2], {}
    for i = 1, #flat, 2 do
      args[#args + 1] = unpack_record(flat[i + 1]).created
      args[#args + 1] = flat[i]
    end
    if #args > 0 then redis.call('ZADD', started, unpack(args)) end
  until cursor == '0'
end

local function started_index_drop(base)
  redis.call('DEL', key_started(base))
end

-- Members whose count ('m:<id>' in the state hash) says they hold a lease (or an offer).
local function members_holding(base)
  local members = {}
  local flat = redis.call('HGETALL', key_state(base))
  for i = 1, #flat, 2 do
    local name = flat[i]
    if string.sub(name, 1, 2) == 'm:' and tonumber(flat[i + 1]) > 0 then members[#members + 1] = string.sub(name, 3) end
  end
  return members
end

-- The soonest entry of a member's expiry set: field, expiresAt; nil when it has none.
local function expiry_head(base, member)
  local head = redis.call('ZRANGE', key_member_expiry(base, member), 0, 0, 'WITHSCORES')
  if head[1] then return head[1], tonumber(head[2]) end
  return nil
end
