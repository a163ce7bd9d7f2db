--- @include "keys"
-- Fields of the definition no script reads (member hosts, names, who set a state and why).
local SPEC_UNREAD = { host = true, name = true, kind = true, stateReason = true, stateBy = true, stateSince = true }

local function slim_spec(v)
  if type(v) ~= 'table' then return v end
  local out = {}
  for k, x in pairs(v) do
    if not SPEC_UNREAD[k] then out[k] = slim_spec(x) end
  end
  return out
end

-- The effective definition as the scripts read it: MessagePack, without the fields they never
-- read (sync-pool-1.lua writes it to <base>layers 'packed' beside the JSON in <base>config).
-- Decoding it costs about half of decoding the JSON, which every admission used to pay.
local function pack_spec(spec)
  return cmsgpack.pack(slim_spec(spec))
end

-- The pool's PoolSpec, read at every admission so a config change applies to every replica at
-- once; nil when the pool is unknown. A pool last written by a release without the packed copy
-- is read from its JSON. JSON null (no licence limit) is absent in the packed copy: the readers
-- below test for a number either way.
--
-- Loaded as a Redis Function (script-loader.ts, compileLibrary), this file's locals live as long
-- as the library, so a definition decoded once is kept, keyed by its packed text: a changed
-- definition is different text and is decoded afresh, and no version stamp can go stale. The
-- decoded table is shared by later calls, so NO SCRIPT MAY WRITE INTO A SPEC (or its members,
-- agencies, classes). Run as EVAL, the cache is new on every call and only costs a lookup.
local SPEC_CACHE, SPEC_CACHED, SPEC_CACHE_MAX = {}, 0, 16

local function load_spec(base)
  local packed = redis.call('HGET', key_layers(base), 'packed')
  if packed then
    local spec = SPEC_CACHE[packed]
    if spec then return spec end
    spec = cmsgpack.unpack(packed)
    if SPEC_CACHED >= SPEC_CACHE_MAX then SPEC_CACHE, SPEC_CACHED = {}, 0 end
    SPEC_CACHE[packed], SPEC_CACHED = spec, SPEC_CACHED + 1
    return spec
  end
  local raw = redis.call('GET', key_config(base))
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Expiry of a lease renewed now (docs/admission.md, "Maximum session duration"): its own TTL from
-- now, never past createdAt + maxSessionMs, and never earlier than it already was.
local function renewed_expiry(spec, r, now)
  local expires = now + r.ttl
  if type(spec.maxSessionMs) == 'number' then expires = math.min(expires, r.created + spec.maxSessionMs) end
  if r.expires and r.expires > expires then expires = r.expires end
  return expires
end

-- The effective maxSessionMs without decoding the definition (sync-pool-1.lua keeps it in the
-- layers hash next to it), or nil.
local function max_session_ms(base)
  local v = redis.call('HGET', key_layers(base), 'max')
  if v then return tonumber(v) end
  return nil
end

-- Expiry of a lease created now: its TTL from now, never past now + maxSessionMs.
local function first_expiry(spec, ttl, now)
  if type(spec.maxSessionMs) == 'number' then return now + math.min(ttl, spec.maxSessionMs) end
  return now + ttl
end

-- licenceLimit is JSON null (cjson.null) when the pool has none.
local function licence_of(spec)
  if type(spec.licenceLimit) == 'number' then return spec.licenceLimit end
  return nil
end

-- The state hash as a table: active, fence, m:<member>, a:<agency> -> number.
local function read_state(base)
  local flat = redis.call('HGETALL', key_state(base))
  local state = {}
  for i = 1, #flat, 2 do state[flat[i]] = tonumber(flat[i + 1]) end
  return state
end

-- Capacity figures of docs/admission.md ("Terms") for the spec and counts at hand.
local function pool_capacity(spec, state)
  local in_service, sum_max, member_free = 0, 0, 0
  for _, m in ipairs(spec.members) do
    if m.state == 'active' then
      in_service = in_service + 1
      sum_max = sum_max + m.maxSessions
      local free_here = m.maxSessions - (state['m:' .. m.id] or 0)
      if free_here > 0 then member_free = member_free + free_here end
    end
  end
  local active = state['active'] or 0
  local capacity, free = sum_max, member_free
  local licence = licence_of(spec)
  if licence then
    capacity = math.min(sum_max, licence)
    free = math.min(member_free, licence - active)
  end
  return { in_service = in_service, capacity = capacity, free = free, active = active }
end
