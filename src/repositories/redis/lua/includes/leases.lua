--- @include "keys"
--- @include "record"
-- Storing and dropping leases: record, expiry entry, owner index and counts change together.

-- The owner index is spread over OWNER_BUCKETS small hashes so that each stays a listpack
-- (up to hash-max-listpack-entries, 128 by default, i.e. ~100k owners per pool): about 45
-- bytes per owner instead of ~100 as entries of one large hash.
local OWNER_BUCKETS = 1024

local function owner_key(base, owner)
  local h = 0
  for i = 1, #owner do h = (h * 31 + string.byte(owner, i)) % 1048573 end
  return key_owner_bucket(base, h % OWNER_BUCKETS)
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

local function insert_lease(base, field, r, expires)
  local state = key_state(base)
  redis.call('HSET', key_grants(base), field, pack_record(r))
  redis.call('ZADD', key_member_expiry(base, r.member), expires, field)
  redis.call('ZADD', key_started(base), r.created, field)
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
