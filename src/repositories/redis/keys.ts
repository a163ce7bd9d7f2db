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
 *   <base>state             hash    active, fence, m:<member> → count, a:<agency> → count
 *   <base>grants            hash    grant id → packed record (see lua/includes/record.lua)
 *   <base>owners            hash    owner → space-separated grant ids
 *   <base>exp:<member>      zset    grant id → expiresAt (epoch ms)
 *   <base>idem:<owner>:<k>  string  grant id + first answer, with a TTL
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
    owners: `${base}owners`,
    memberExpiry: (member: string) => `${base}exp:${member}`,
    idempotency: (owner: string, key: string) => `${base}idem:${owner}:${key}`,
  };
};

/** Set of pool ids known to the store (not in a pool's slot; read outside scripts only). */
export const poolIndexKey = (prefix: string) => `${prefix}pools`;
