#!lua
--[[
  Leaves the waiting room (docs/admission.md, "Waiting room"): a waiting ticket leaves the line;
  an offered one declines, and its slot is offered to the line in the same step.

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] ticket id
  ARGV[3] owner

  Returns { code, changes } (always this shape): code = OK | TICKET_NOT_FOUND | OFFER_EXPIRED | UNKNOWN_POOL
]]
--- @include "codes"
--- @include "clock"
--- @include "keys"
--- @include "spec"
--- @include "record"
--- @include "leases"
--- @include "queue"

local base = KEYS[1]
local now = clock_now(ARGV[1])
local pool = pool_of_base(base)
local field = field_of_id(pool, ARGV[2])
local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, {} } end

local changes = {}
local t, failure = usable_ticket(base, pool, spec, field, ARGV[3], now, changes)
if not t then return { failure, changes } end
if t.state == 'waiting' then
  drop_ticket(base, pool, field, t, 'left', now, changes)
else
  drop_ticket(base, pool, field, t, 'declined', now, changes)
  offer_step(base, pool, spec, now, changes)
end
return { OK, changes }
