#!lua flags=no-writes
--[[
  Live grants of one owner in one pool, in creation order (fencing token ascending). Read only.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] owner

  Returns { grant, ... } (empty for an unknown pool)
  grant = { id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }
]]
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "leases"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local owner = ARGV[2]
local pool = pool_of_base(base)

local live = {}
for _, field in ipairs(owner_fields(base, owner)) do
  local r = find_lease(base, field)
  if r and r.expires and r.expires > now then
    r.field = field
    live[#live + 1] = r
  end
end
table.sort(live, function(a, b) return a.fence < b.fence end)
local out = {}
for i, r in ipairs(live) do out[i] = grant_reply(id_of_field(pool, r.field), r, r.expires) end
return out
