-- Key names of a pool, derived from its base (KEYS[1] = poolBase(prefix, pool)).
-- Mirrors src/repositories/redis/keys.ts; test/repositories/redis/keys.test.ts checks they agree.
local function key_config(base) return base .. 'config' end
local function key_state(base) return base .. 'state' end
local function key_grants(base) return base .. 'grants' end
local function key_owners(base) return base .. 'owners' end
local function key_member_expiry(base, member) return base .. 'exp:' .. member end
local function key_idempotency(base, owner, idem) return base .. 'idem:' .. owner .. ':' .. idem end
-- The pool id inside the hash tag of a base ('<prefix>{<pool>}:').
local function pool_of_base(base) return string.match(base, '{([^}]*)}:$') end
