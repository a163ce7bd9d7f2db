--- @include "keys"
--- @include "record"
-- Storing and dropping leases: record, expiry entry, owner index and counts change together.

local function owner_fields(base, owner)
  local list = redis.call('HGET', key_owners(base), owner)
  local fields = {}
  if list then
    for f in string.gmatch(list, '%S+') do fields[#fields + 1] = f end
  end
  return fields
end

local function owner_index_add(base, owner, field)
  local list = redis.call('HGET', key_owners(base), owner)
  if list then list = list .. ' ' .. field else list = field end
  redis.call('HSET', key_owners(base), owner, list)
end

local function owner_index_remove(base, owner, field)
  local kept = {}
  for _, f in ipairs(owner_fields(base, owner)) do
    if f ~= field then kept[#kept + 1] = f end
  end
  if #kept == 0 then
    redis.call('HDEL', key_owners(base), owner)
  else
    redis.call('HSET', key_owners(base), owner, table.concat(kept, ' '))
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
