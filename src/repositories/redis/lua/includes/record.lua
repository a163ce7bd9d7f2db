-- Grant records and grant ids.
--
-- A grant id '<pool>.<rest>' is stored as the field '<rest>' (the pool is implied by
-- the keys, and the ids appear three times per grant); any other id as '.' .. id.
-- The mapping is one-to-one and keeps byte order among ids of one form.
local function field_of_id(pool, id)
  local p = pool .. '.'
  local n = #p
  if #id > n and string.sub(id, 1, n) == p and string.byte(id, n + 1) ~= 46 then
    return string.sub(id, n + 1)
  end
  return '.' .. id
end

local function id_of_field(pool, field)
  if string.byte(field, 1) == 46 then return string.sub(field, 2) end
  return pool .. '.' .. field
end

-- Byte-order comparison (Lua's '<' on strings follows the server's locale).
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- <base>grants field value: MessagePack values in this order. expiresAt is the
-- score in the member's expiry set, not part of the record.
local function pack_record(r)
  return cmsgpack.pack(r.member, r.agency, r.owner, r.client, r.fence, r.created, r.ttl)
end

local function unpack_record(raw)
  local member, agency, owner, client, fence, created, ttl = cmsgpack.unpack(raw)
  return { member = member, agency = agency, owner = owner, client = client, fence = fence, created = created, ttl = ttl }
end

-- A grant as scripts return it (src/repositories/redis/script-codes.ts decodes it).
local function grant_reply(id, r, expires)
  return { id, r.member, r.agency, r.owner, r.client, r.fence, r.created, expires, r.ttl }
end
