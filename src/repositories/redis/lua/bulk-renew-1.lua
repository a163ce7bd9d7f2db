#!lua
--[[
  A gateway / session-host agent's report for one member (docs/admission.md, "Bulk renewal").
  Each distinct id is handled once, `ended` before `active` (an id in both is ended):
  a live lease of the member in `ended` is released, in `active` renewed by its own TTL;
  a reported lease of the member that has expired is reclaimed and counted as expired;
  an id that is no lease of the member is unknown. Then every unreported lease of the
  member created at least the grace period ago is reclaimed (counted as expired).

  A large report comes in parts (src/repositories/redis/redis-lease.store.ts, bulkRenew), so
  that Redis serves other clients between them instead of running one long script: each part
  handles its own ids and answers their lease fields; the last one also writes the report's audit
  record and offers freed seats. An only part finds the unreported leases in the member's expiry
  index itself, unless there are more of them than ARGV[11]: then it reclaims none, answers as an
  earlier part with `continues` 1, and the broker goes on in parts. Otherwise the broker reads that
  index (just before) and hands the fields no earlier part handled to the parts after the reported
  ids, at most a part's worth each (an empty report from a gateway that held 40,000 leases held
  Redis for 2.1 s in one call): any part reclaims the candidates it is given, the last one too, so
  none reads the whole index or hashes every earlier id again.
  The broker passes the ids distinct and in order (`ended` first, an id in both only there).

  KEYS[1] pool base '<prefix>{<pool>}:'
  ARGV[1] now, epoch ms; '' = Redis TIME
  ARGV[2] member
  ARGV[3] grace period, ms
  ARGV[4] '1' = the report's only part; '2' = the last of several; '' = an earlier part
  ARGV[5] n = number of ended ids of this part
  ARGV[6] a = number of active ids of this part
  ARGV[7] ARGV[8] ARGV[9] ARGV[10] renewed, released, expired, unknown counted by the report's
    earlier parts (0 for the first)
  ARGV[11] only part: the most unreported leases it reclaims itself ('' = any number)
  ARGV[12 .. 11+n] ended ids; ARGV[12+n .. 11+n+a] active ids;
  ARGV[12+n+a ..] (not the only part) lease fields of the member that no earlier part handled, to reclaim

  Returns { code, renewed, released, expired, unknownIds, changes, releasedLeases, expiredLeases, handledFields, continues } (always this shape)
  code = OK | UNKNOWN_POOL | UNKNOWN_MEMBER (then 0, 0, 0, {}, {}, {}, {}, {}, 0)
  changes = waiting-room changes: freed slots are offered to the line by the last part (includes/queue.lua); {} from an earlier one
  unknownIds: distinct, in the order first reported
  releasedLeases, expiredLeases = { {id, member, agency, owner}, ... } in the order handled (as reap.lua), for events
  handledFields (earlier parts only, else {}) = the lease field of each distinct id of the part
  continues = 1: an only part that found more unreported leases than ARGV[11] and acted as an earlier part
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
local member, grace, mode = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n_ended, n_active = tonumber(ARGV[5]), tonumber(ARGV[6])
local FIRST = 12
local pool = pool_of_base(base)

local spec = load_spec(base)
if not spec then return { UNKNOWN_POOL, 0, 0, 0, {}, {}, {}, {}, {}, 0 } end
local known = false
for _, m in ipairs(spec.members) do
  if m.id == member then known = true break end
end
if not known then return { UNKNOWN_MEMBER, 0, 0, 0, {}, {}, {}, {}, {}, 0 } end

local renewed, released, expired, unknown = 0, 0, 0, {}
local released_leases, expired_leases = {}, {}
local seen, handled = {}, {}
for i = FIRST, FIRST + n_ended + n_active - 1 do
  local id = ARGV[i]
  local field = field_of_id(pool, id)
  if not seen[field] then
    seen[field] = true
    handled[#handled + 1] = field
    local r = find_lease(base, field)
    if not r or r.member ~= member then
      unknown[#unknown + 1] = id
    elseif r.expires <= now then
      drop_lease(base, field, r)
      audit(base, now, 'expired', { own = r.owner, ag = r.agency, m = r.member, g = id, d = '{"via":"agent"}' })
      expired = expired + 1
      expired_leases[#expired_leases + 1] = { id, r.member, r.agency, r.owner }
    elseif i < FIRST + n_ended then
      drop_lease(base, field, r)
      audit(base, now, 'released', { own = r.owner, ag = r.agency, m = r.member, g = id, d = '{"via":"agent"}' })
      released = released + 1
      released_leases[#released_leases + 1] = { id, r.member, r.agency, r.owner }
    else
      renew_lease(base, field, r, renewed_expiry(spec, r, now))
      renewed = renewed + 1
    end
  end
end

local changes = {}
-- Unreported leases past the grace period: the agent no longer carries them.
local unreported, continues = {}, 0
if mode == '1' then
  local all = redis.call('ZRANGE', key_member_expiry(base, member), 0, -1)
  for _, field in ipairs(all) do
    if not seen[field] then unreported[#unreported + 1] = field end
  end
  if ARGV[11] ~= '' and #unreported > tonumber(ARGV[11]) then
    unreported, mode, continues = {}, '', 1
  end
else
  for i = FIRST + n_ended + n_active, #ARGV do
    if not seen[ARGV[i]] then unreported[#unreported + 1] = ARGV[i] end
  end
end
local CHUNK = 1000
for from = 1, #unreported, CHUNK do
  local to = math.min(from + CHUNK - 1, #unreported)
  local raws = redis.call('HMGET', key_grants(base), unpack(unreported, from, to))
  for j, raw in ipairs(raws) do
    if raw then
      local r = unpack_record(raw)
      if now - r.created >= grace then
        local id = id_of_field(pool, unreported[from + j - 1])
        drop_lease(base, unreported[from + j - 1], r)
        audit(base, now, 'expired', { own = r.owner, ag = r.agency, m = r.member, g = id, d = '{"via":"agent"}' })
        expired = expired + 1
        expired_leases[#expired_leases + 1] = { id, r.member, r.agency, r.owner }
      end
    end
  end
end

-- Seats an earlier part freed are offered to the line by the last part, so that the audit trail
-- reads as from a report in one call (any other operation between the parts offers them sooner).
if mode == '' then
  return { OK, renewed, released, expired, unknown, changes, released_leases, expired_leases, handled, continues }
end

audit(base, now, 'renewed', { m = member, d = string.format('{"renewed":%d,"released":%d,"expired":%d,"unknown":%d}',
  renewed + tonumber(ARGV[7]), released + tonumber(ARGV[8]), expired + tonumber(ARGV[9]), #unknown + tonumber(ARGV[10])) })
offer_step(base, pool, spec, now, changes)
return { OK, renewed, released, expired, unknown, changes, released_leases, expired_leases, {}, 0 }
