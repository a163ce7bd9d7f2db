--- @include "keys"
-- Fencing tokens (docs/guarantees.md, "Fencing tokens"; the same rule as src/domain/fencing.ts).
-- Strictly increasing per pool, and never issued twice, even when a failover discards the last
-- writes or a node comes back empty and the counter with it: a token is at least the store time
-- in ms times FENCE_PER_MS, so one issued after such a loss is above every one issued before it —
-- as long as the new master's clock is not behind the old one's by more than the failover took,
-- and a pool does not go on issuing more than FENCE_PER_MS tokens a millisecond.
local FENCE_PER_MS = 1000

local function next_fence(base, now)
  local last = tonumber(redis.call('HGET', key_state(base), 'fence') or '0')
  local fence = math.max(last + 1, now * FENCE_PER_MS)
  -- %.0f: Lua 5.1 would write a number of 15+ digits in exponent form.
  redis.call('HSET', key_state(base), 'fence', string.format('%.0f', fence))
  return fence
end

-- A token as JSON text for audit records (never in exponent form).
local function fence_json(fence)
  return '{"fence":' .. string.format('%.0f', fence) .. '}'
end
