#!lua flags=no-writes
--[[
  When the next sweep has work: the time until the soonest lease of a pool expires. Read only.
  Looks at the head of each member's expiry set that holds leases, so the cost is O(members).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME

  Returns ms from now until the soonest expiresAt (0 when one is due already), or -1 when the
  pool holds no lease or is unknown (always a number)
]]
--- @include "clock"
--- @include "keys"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local soonest = nil
local flat = redis.call('HGETALL', key_state(base))
for i = 1, #flat, 2 do
  local name = flat[i]
  if string.sub(name, 1, 2) == 'm:' and tonumber(flat[i + 1]) > 0 then
    local head = redis.call('ZRANGE', key_member_expiry(base, string.sub(name, 3)), 0, 0, 'WITHSCORES')
    if head[1] then
      local at = tonumber(head[2])
      if soonest == nil or at < soonest then soonest = at end
    end
  end
end
if soonest == nil then return -1 end
if soonest <= now then return 0 end
return soonest - now
