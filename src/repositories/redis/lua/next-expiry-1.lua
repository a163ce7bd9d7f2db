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
--- @include "leases"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local soonest = nil
for _, member in ipairs(members_holding(base)) do
  local _, at = expiry_head(base, member)
  if at and (soonest == nil or at < soonest) then soonest = at end
end
if soonest == nil then return -1 end
if soonest <= now then return 0 end
return soonest - now
