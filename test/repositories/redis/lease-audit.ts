import type Redis from 'ioredis';
import type { PoolSpec } from '../../../src/domain/pool-spec';
import { poolBase } from '../../../src/repositories/redis/keys';
import { compileLua } from '../../../src/repositories/redis/script-loader';

/** Everything stored for one pool, decoded in one atomic read. */
export interface PoolAudit {
  state: Record<string, number>;
  grants: { id: string; member: string; agency: string; owner: string; client: string; fence: number; expires: number | null }[];
  /** member → grant ids in its expiry set */
  expiry: Record<string, string[]>;
  /** owner → grant ids in the owner index */
  owners: Record<string, string[]>;
}

// Decodes with the scripts' own includes (record.lua) so the test reads what they wrote.
const AUDIT_LUA = compileLua(`#!lua flags=no-writes
--- @include "keys"
--- @include "record"
--- @include "leases"
local base = KEYS[1]
local pool = pool_of_base(base)
local state = redis.call('HGETALL', key_state(base))
local grants, members = {}, {}
local flat = redis.call('HGETALL', key_grants(base))
for i = 1, #flat, 2 do
  local r = unpack_record(flat[i + 1])
  local expires = redis.call('ZSCORE', key_member_expiry(base, r.member), flat[i]) or ''
  grants[#grants + 1] = { id_of_field(pool, flat[i]), r.member, r.agency, r.owner, r.client, r.fence, expires }
end
local expiry = {}
for i = 1, #state, 2 do
  if string.sub(state[i], 1, 2) == 'm:' then
    local m = string.sub(state[i], 3)
    local ids = {}
    for _, f in ipairs(redis.call('ZRANGE', key_member_expiry(base, m), 0, -1)) do ids[#ids + 1] = id_of_field(pool, f) end
    expiry[#expiry + 1] = { m, ids }
  end
end
local owners = {}
for bucket = 0, OWNER_BUCKETS - 1 do
  local of = redis.call('HGETALL', key_owner_bucket(base, bucket))
  for i = 1, #of, 2 do
    -- Each owner must sit in the bucket its name hashes to.
    local ids = { owner_key(base, of[i]) == key_owner_bucket(base, bucket) and 'in-bucket' or 'WRONG-BUCKET' }
    for f in string.gmatch(of[i + 1], '%S+') do ids[#ids + 1] = id_of_field(pool, f) end
    owners[#owners + 1] = { of[i], ids }
  end
end
return { state, grants, expiry, owners }`);

export async function auditPool(redis: Redis, prefix: string, pool: string): Promise<PoolAudit> {
  const [state, grants, expiry, owners] = (await redis.eval(AUDIT_LUA, 1, poolBase(prefix, pool))) as [
    string[],
    [string, string, string, string, string, number, string][],
    [string, string[]][],
    [string, string[]][],
  ];
  const stateMap: Record<string, number> = {};
  for (let i = 0; i < state.length; i += 2) stateMap[state[i]!] = Number(state[i + 1]);
  return {
    state: stateMap,
    grants: grants.map(([id, member, agency, owner, client, fence, expires]) => ({
      id,
      member,
      agency,
      owner,
      client,
      fence,
      expires: expires === '' ? null : Number(expires),
    })),
    expiry: Object.fromEntries(expiry),
    owners: Object.fromEntries(
      owners.map(([owner, [placement, ...ids]]) => {
        if (placement !== 'in-bucket') throw new Error(`owner ${owner} is indexed in the wrong bucket`);
        return [owner, ids];
      }),
    ),
  };
}

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((t, x) => ({ ...t, [x]: (t[x] ?? 0) + 1 }), {});
const sorted = (xs: string[]) => [...xs].sort();

/**
 * The invariants of docs/admission.md, checked on what is stored: counts equal the
 * stored leases, every index agrees with the records, no maximum is exceeded, fences
 * are distinct, nobody holds more live leases than allowed. With `noConfigChanges`
 * also rule 10 in its invariant form: the free capacity always covers every agency's
 * unused guarantee. Returns a list of violations (empty when all hold).
 */
export function violations(audit: PoolAudit, spec: PoolSpec, now: number, noConfigChanges = true): string[] {
  const out: string[] = [];
  const { state, grants } = audit;
  const check = (ok: boolean, what: string) => {
    if (!ok) out.push(what);
  };
  check((state.active ?? 0) === grants.length, `active ${state.active} != ${grants.length} stored leases`);
  const byMember = tally(grants.map((g) => g.member));
  const byAgency = tally(grants.map((g) => g.agency));
  for (const [field, n] of Object.entries(state)) {
    if (field.startsWith('m:')) check(n === (byMember[field.slice(2)] ?? 0), `${field} = ${n}, stored ${byMember[field.slice(2)] ?? 0}`);
    if (field.startsWith('a:')) check(n === (byAgency[field.slice(2)] ?? 0), `${field} = ${n}, stored ${byAgency[field.slice(2)] ?? 0}`);
  }
  for (const m of Object.keys(byMember)) check(state[`m:${m}`] !== undefined, `member ${m} has leases but no count`);
  for (const a of Object.keys(byAgency)) check(state[`a:${a}`] !== undefined, `agency ${a} has leases but no count`);
  for (const g of grants) check(g.expires !== null, `${g.id} has no expiry entry`);
  const expiryIds = Object.values(audit.expiry).flat();
  check(expiryIds.length === grants.length, `${expiryIds.length} expiry entries for ${grants.length} leases`);
  for (const [m, ids] of Object.entries(audit.expiry)) {
    check(JSON.stringify(sorted(ids)) === JSON.stringify(sorted(grants.filter((g) => g.member === m).map((g) => g.id))), `expiry set of ${m} disagrees with the records`);
  }
  const ownerIds = Object.values(audit.owners).flat();
  check(ownerIds.length === grants.length, `${ownerIds.length} owner index entries for ${grants.length} leases`);
  for (const [o, ids] of Object.entries(audit.owners)) {
    check(JSON.stringify(sorted(ids)) === JSON.stringify(sorted(grants.filter((g) => g.owner === o).map((g) => g.id))), `owner index of ${o} disagrees with the records`);
  }
  const fences = grants.map((g) => g.fence);
  check(new Set(fences).size === fences.length, 'duplicate fencing tokens');
  check(fences.every((f) => f >= 1 && f <= (state.fence ?? 0)), 'a fencing token above the fence');

  for (const m of spec.members) check((byMember[m.id] ?? 0) <= m.maxSessions, `member ${m.id} holds ${byMember[m.id]} > ${m.maxSessions}`);
  for (const a of spec.agencies) check((byAgency[a.id] ?? 0) <= a.maximum, `agency ${a.id} holds ${byAgency[a.id]} > ${a.maximum}`);
  if (spec.licenceLimit !== null) check(grants.length <= spec.licenceLimit, `${grants.length} leases > licence ${spec.licenceLimit}`);
  const liveByOwner = tally(grants.filter((g) => g.expires! > now).map((g) => g.owner));
  for (const [o, n] of Object.entries(liveByOwner)) check(n <= spec.perEmployeeLimit, `owner ${o} holds ${n} live leases`);

  if (noConfigChanges) {
    let memberFree = 0;
    for (const m of spec.members) if (m.state === 'active') memberFree += Math.max(0, m.maxSessions - (byMember[m.id] ?? 0));
    const free = spec.licenceLimit === null ? memberFree : Math.min(memberFree, spec.licenceLimit - grants.length);
    const unused = spec.agencies.reduce((sum, a) => sum + Math.max(0, a.guaranteed - (byAgency[a.id] ?? 0)), 0);
    check(unused <= free, `unused guarantees ${unused} exceed free capacity ${free}`);
  }
  return out;
}
