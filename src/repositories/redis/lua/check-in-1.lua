#!lua
--[[
  A waiter checks in (docs/admission.md, "Waiting room"): a waiting ticket keeps its place for
  another check-in period; then expired leases, offers past their claim window and waiters past
  their deadline are reclaimed (up to reapBatch each) and the offers due are made.
  A ticket past its own time is dropped instead: 'ticket-not-found' (waiting) or 'offer-expired'.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] ticket id
  ARGV[3] owner
  ARGV[4] reapBatch

  Returns { code, ticket | false, expired, changes } (always this shape)
  code = OK (with the ticket) | TICKET_NOT_FOUND | OFFER_EXPIRED | UNKNOWN_POOL
  ticket = see includes/queue.lua ticket_reply; expired = { {id, member, agency, owner}, ... }
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "reap"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local pool = pool_of_base(base)
local field = field_of_id(pool, ARGV[2])
local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, false, {}, {} } end

local changes = {}
local t, failure = usable_ticket(base, pool, spec, field, ARGV[3], now, changes)
if not t then return { failure, false, {}, changes } end
local wr = wait_room(spec)
if t.state == 'waiting' and wr then
  t.by = now + wr.checkInMs
  save_ticket(base, field, t)
  redis.call('ZADD', key_check_ins(base), t.by, field)
end
local limit = tonumber(ARGV[4])
local expired = reap_expired(base, pool, now, limit)
reap_waiting(base, pool, now, limit, changes)
offer_step(base, pool, spec, now, changes)
return { OK, ticket_reply(base, pool, field, find_ticket(base, field), now), expired, changes }
