/**
 * The one place that builds Redis key names.
 *
 * Every key of a pool carries the hash tag `{<pool>}`, so one script touches
 * keys of one slot only and the same code runs on Redis Cluster. Scripts get
 * `poolBase(prefix, pool)` as KEYS[1] and derive per-member and per-idempotency
 * keys from it with the same suffixes (src/repositories/redis/lua/includes/keys.lua
 * mirrors this file; test/repositories/redis/keys.test.ts checks they agree).
 *
 *   <base>config            string  JSON PoolSpec
 *   <base>state             hash    active, fence, m:<member> → count, a:<agency> → count, nx (no lease
 *                                   expires before it: lua/includes/leases.lua)
 *   <base>grants            hash    grant id → packed record (see lua/includes/record.lua)
 *   <base>owners:<n>        hash    owner → space-separated grant ids, owners spread over 1024 buckets
 *                                   (lua/includes/leases.lua) so each bucket stays a compact listpack
 *   <base>exp:<member>      zset    grant id → expiresAt (epoch ms)
 *   <base>idem:<owner>:<k>  string  grant id + first answer, with a TTL
 *   <base>audit             stream  append-only audit records (fields: see src/domain/audit.ts)
 *   <base>wait              hash    waiting room: n, o, seq, q:<rank>:<agency> → count, rate tokens, offer buckets
 *   <base>waiters           hash    ticket → packed waiter record (see lua/includes/queue.lua)
 *   <base>q:<rank>:<agency> zset    ticket → join sequence (FIFO per priority rank and agency)
 *   <base>checkins          zset    waiting ticket → check-in deadline (epoch ms)
 *   <base>offers            zset    offered ticket → end of its claim window (epoch ms)
 *   <base>waitowners        hash    owner → their ticket (one per owner and pool)
 *   <base>layers            hash    spec (config file's PoolSpec JSON), overrides (runtime changes JSON), rev,
 *                                   max (effective maxSessionMs, for heartbeats)
 *   <base>started           zset    grant id → createdAt (sessions reaching their maximum duration); kept only
 *                                   while the pool has a maximum (lua/includes/leases.lua)
 *   <base>fail:<member>     zset    failure reporter → time of their last report (circuit breaker window)
 */
export const DEFAULT_KEY_PREFIX = 'tb:';

export function poolBase(prefix: string, pool: string): string {
  return `${prefix}{${pool}}:`;
}

export const poolKeys = (prefix: string, pool: string) => {
  const base = poolBase(prefix, pool);
  return {
    base,
    config: `${base}config`,
    state: `${base}state`,
    grants: `${base}grants`,
    ownerBucket: (bucket: number | string) => `${base}owners:${bucket}`,
    memberExpiry: (member: string) => `${base}exp:${member}`,
    idempotency: (owner: string, key: string) => `${base}idem:${owner}:${key}`,
    audit: `${base}audit`,
    wait: `${base}wait`,
    waiters: `${base}waiters`,
    queue: (rank: number, agency: string) => `${base}q:${rank}:${agency}`,
    checkIns: `${base}checkins`,
    offers: `${base}offers`,
    waitOwners: `${base}waitowners`,
    layers: `${base}layers`,
    started: `${base}started`,
    failures: (member: string) => `${base}fail:${member}`,
  };
};

/** Set of pool ids known to the store (not in a pool's slot; read outside scripts only). */
export const poolIndexKey = (prefix: string) => `${prefix}pools`;

/** A claim of a one-off scheduled job (not in a pool's slot; plain SET NX outside scripts). */
export const claimKey = (prefix: string, name: string) => `${prefix}claim:${name}`;
