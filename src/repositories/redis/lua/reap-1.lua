#!lua
--[[
  The periodic sweep: reclaims up to `limit` expired leases of a pool, oldest expiry first
  (ties by grant id, byte order).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] limit

  Returns { {id, member, agency, owner}, ... } in reaping order (empty for an unknown pool)
]]
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "leases"
--- @include "reap"

local base = KEYS[1]
return reap_expired(base, pool_of_base(base), clock_now(ARGV[1]), tonumber(ARGV[2]))
