-- Key names of a pool, derived from its base (KEYS[1] = poolBase(prefix, pool)).
-- Mirrors src/repositories/redis/keys.ts; test/repositories/redis/keys.test.ts checks they agree.
local function key_config(base) return base .. 'config' end
local function key_state(base) return base .. 'state' end
local function key_grants(base) return base .. 'grants' end
local function key_owner_bucket(base, bucket) return base .. 'owners:' .. bucket end
local function key_member_expiry(base, member) return base .. 'exp:' .. member end
local function key_idempotency(base, owner, idem) return base .. 'idem:' .. owner .. ':' .. idem end
local function key_audit(base) return base .. 'audit' end
local function key_wait(base) return base .. 'wait' end
local function key_waiters(base) return base .. 'waiters' end
local function key_queue(base, rank, agency) return base .. 'q:' .. rank .. ':' .. agency end
local function key_check_ins(base) return base .. 'checkins' end
local function key_offers(base) return base .. 'offers' end
local function key_wait_owners(base) return base .. 'waitowners' end
local function key_layers(base) return base .. 'layers' end
local function key_started(base) return base .. 'started' end
local function key_failures(base, member) return base .. 'fail:' .. member end
-- The pool id inside the hash tag of a base ('<prefix>{<pool>}:').
local function pool_of_base(base) return string.match(base, '{([^}]*)}:$') end
