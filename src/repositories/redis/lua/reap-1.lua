#!lua
--[[
  The periodic sweep: reclaims up to `limit` expired leases of a pool, oldest expiry first
  (ties by grant id, byte order).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] limit

  Then offers past their claim window and waiters past their check-in deadline (up to `limit`
  each) leave the waiting room, and what was freed is offered to the line in the same step.

  Returns { expired, changes } (both empty for an unknown pool)
  expired = { {id, member, agency, owner}, ... } in reaping order
  changes = waiting-room changes (includes/queue.lua)
]]
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "leases"
--- @include "reap"
--- @include "queue"

local base = KEYS[1]
local spec = load_spec(base)
if not spec then return { {}, {} } end
local pool, now, limit = pool_of_base(base), clock_now(ARGV[1]), tonumber(ARGV[2])
local expired = reap_expired(base, pool, now, limit, true)
local changes = {}
reap_waiting(base, pool, now, limit, changes)
offer_step(base, pool, spec, now, changes)
return { expired, changes }
