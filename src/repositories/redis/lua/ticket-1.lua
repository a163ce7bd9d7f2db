#!lua flags=no-writes
--[[
  Reads a ticket, by id or as an owner's ticket in the pool; changes nothing. A waiting ticket
  past its check-in deadline reads as not found, an offer past its claim window as expired.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] ticket id; '' = the owner's ticket
  ARGV[3] owner; '' = any

  Returns { code, ticket | false }: code = OK (with the ticket) | TICKET_NOT_FOUND | OFFER_EXPIRED | UNKNOWN_POOL
  ticket = see includes/queue.lua ticket_reply
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "record"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local pool = pool_of_base(base)
if redis.call('EXISTS', key_config(base)) == 0 then return { UNKNOWN_POOL, false } end
local id, owner = ARGV[2], ARGV[3]
local field
if id == '' then field = redis.call('HGET', key_wait_owners(base), owner) else field = field_of_id(pool, id) end
local t = field and find_ticket(base, field)
if not t or (owner ~= '' and t.owner ~= owner) then return { TICKET_NOT_FOUND, false } end
if t.by <= now then
  if t.state == 'waiting' then return { TICKET_NOT_FOUND, false } end
  return { OFFER_EXPIRED, false }
end
return { OK, ticket_reply(base, pool, field, t, now) }
