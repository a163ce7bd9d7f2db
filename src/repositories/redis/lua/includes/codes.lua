-- Reply codes; src/repositories/redis/script-codes.ts maps them to results (keep both in step).
local OK = 0
local CREATED = 1
local RECONNECTED = 2
local REPLAYED = 3
local UNKNOWN_POOL = -1
local UNKNOWN_MEMBER = -2
local GRANT_NOT_FOUND = -3
local LEASE_EXPIRED = -4
local NOT_ENTITLED = -10
local EMPLOYEE_AT_LIMIT = -11
local AGENCY_AT_MAXIMUM = -12
local POOL_UNAVAILABLE = -13
local POOL_FULL = -14
local CAPACITY_RESERVED = -15
local STALE_REVISION = -20
