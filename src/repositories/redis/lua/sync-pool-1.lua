#!lua
--[[
  Writes one pool's definition. Counts, leases and the fence are kept; a new pool's
  fence starts at 0 (first fencing token 1).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now (unused: every script takes it)
  ARGV[2] PoolSpec as JSON

  Returns OK
]]
--- @include "codes"
--- @include "keys"

local base = KEYS[1]
cjson.decode(ARGV[2]) -- refuse to store what admissions could not read
redis.call('SET', key_config(base), ARGV[2])
redis.call('HSETNX', key_state(base), 'fence', 0)
redis.call('HSETNX', key_state(base), 'active', 0)
return OK
