import Redis from 'ioredis';
import type { Grant, GrantResult } from '../../../src/domain/grant';
import type { LeaseResult } from '../../../src/repositories/lease-store';
import { poolIndexKey, poolKeys } from '../../../src/repositories/redis/keys';
import { MemoryLeaseStore } from '../../../src/repositories/memory/memory-lease.store';
import type { LeaseStore } from '../../../src/repositories/lease-store';
import { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';
import { connect, defaultOptions, deleteUnder, keysUnder, member, newPrefix, openStore, poolSpec, share, startRedisServer } from './redis-test-utils';

// What only the Redis store has to show: time from Redis, the key layout, several
// replicas on one Redis, errors. The admission rules themselves are the contract's
// (test/repositories/redis-lease.store.test.ts).

function value<T>(r: LeaseResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.failure}`);
  return r.value;
}

function created(r: LeaseResult<GrantResult>): Grant {
  const v = value(r);
  if (v.outcome !== 'created') throw new Error(`expected created, got ${v.outcome}`);
  return v.grant;
}

describe('RedisLeaseStore on Redis', () => {
  let admin: Redis;
  let prefix: string;
  const stores: RedisLeaseStore[] = [];
  const open = (...args: Parameters<typeof openStore> extends [string, ...infer R] ? R : never) => {
    const s = openStore(prefix, ...args);
    stores.push(s);
    return s;
  };

  beforeAll(() => {
    admin = connect();
  });
  beforeEach(() => {
    prefix = newPrefix();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
    await deleteUnder(admin, prefix);
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function redisTime(): Promise<number> {
    const [s, us] = await admin.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  it('a bulk renewal in parts answers and leaves state as one call does: the last part knows every id reported', async () => {
    // grace 0: every unreported lease is reclaimed, so a reported one the last part took for
    // unreported would show as expired; duplicates and an id in both lists span parts.
    const clock = () => 1_000_000;
    const options = { ...defaultOptions, bulkRenewalGraceMs: 0, clock };
    const run = async (store: LeaseStore) => {
      await store.syncPools([poolSpec({ members: [member('m1', 20), member('m2', 20)] })]);
      for (let i = 0; i < 12; i++) created(await store.grant({ pool: 'p', owner: `o${i}`, agency: 'a', clientId: 'c', newGrantId: `p.g${i}` }));
      const onM1 = (await store.listByMember('p', 'm1'));
      const ids = value(onM1).map((l) => l.id).sort();
      expect(ids.length).toBe(6); // breadth-first: half on each member
      const [a, b, c, d, e, f] = ids as [string, string, string, string, string, string];
      const result = value(await store.bulkRenew({ pool: 'p', member: 'm1', ended: [b, b, d, 'p.nope0'], active: [a, c, d, 'p.nope1', c, e, 'p.g0x', a] }));
      const after = value(await store.listByMember('p', 'm1')).map((l) => l.id).sort();
      const audit = (await store.readAudit('p', { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 200 })).records.filter((r) => r.ev !== 'granted').map(({ id: _id, ...r }) => r);
      return { result: { ...result, releasedLeases: result.releasedLeases.map((l) => l.id).sort(), expiredLeases: result.expiredLeases.map((l) => l.id).sort() }, after, audit, f, kept: [a, c, e].sort() };
    };
    const inParts = await run(open({ ...options, bulkRenewalPart: 2 } as Partial<typeof defaultOptions>));
    const oneCall = await run(new MemoryLeaseStore(options));
    expect(inParts.result).toEqual(oneCall.result);
    expect(inParts.result).toMatchObject({ renewed: 3, released: 2, expired: 1, unknown: ['p.nope0', 'p.nope1', 'p.g0x'], expiredLeases: [inParts.f] });
    expect(inParts.after).toEqual(inParts.kept);
    expect(inParts.after).toEqual(oneCall.after);
    expect(inParts.audit).toEqual(oneCall.audit);
  });

  it('takes time from Redis TIME when no clock is given, not from the process clock', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2001, 0, 1)); // a replica with a wrong clock
    const store = open();
    await store.syncPools([poolSpec({ leaseTtlMs: 90_000 })]);
    const before = await redisTime();
    const g = created(await store.grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'p.g1', idempotencyKey: 'k' }));
    const after = await redisTime();
    expect(g.createdAt).toBeGreaterThanOrEqual(before);
    expect(g.createdAt).toBeLessThanOrEqual(after);
    expect(g.expiresAt).toBe(g.createdAt + 90_000);

    const t0 = await redisTime();
    const beat = value(await store.heartbeat('p', g.id));
    const snap = value(await store.snapshot('p'));
    const now = await store.now();
    const t1 = await redisTime();
    for (const t of [beat.expiresAt - 90_000, snap.at, now]) {
      expect(t).toBeGreaterThanOrEqual(t0);
      expect(t).toBeLessThanOrEqual(t1);
    }
    // The idempotency memo lives exactly as long as the key is remembered.
    const pttl = await admin.pttl(poolKeys(prefix, 'p').idempotency('o1', 'k'));
    expect(pttl).toBeGreaterThan(600_000 - 10_000);
    expect(pttl).toBeLessThanOrEqual(600_000);
  });

  it('keeps grants in per-pool structures: no key per grant', async () => {
    const store = open();
    await store.syncPools([poolSpec({ perEmployeeLimit: 2, members: [member('m1', 20), member('m2', 20)] }), poolSpec({ id: 'q' })]);
    for (let i = 0; i < 30; i++) {
      created(await store.grant({ pool: 'p', owner: `o${i % 20}`, agency: 'a', clientId: `c${i}`, newGrantId: `p.g${i}`, ...(i < 3 ? { idempotencyKey: `k${i}` } : {}) }));
    }
    const k = poolKeys(prefix, 'p');
    const keys = await keysUnder(admin, prefix);
    const ownerBuckets = keys.filter((key) => key.startsWith(k.ownerBucket('')));
    const idempotency = keys.filter((key) => key.startsWith(k.idempotency('', '').slice(0, -1)));
    // Per grant: nothing. Per owner: a place in one of the fixed owner buckets. Per Idempotency-Key: its memo.
    expect(idempotency.sort()).toEqual([k.idempotency('o0', 'k0'), k.idempotency('o1', 'k1'), k.idempotency('o2', 'k2')]);
    expect(ownerBuckets.length).toBeLessThanOrEqual(20);
    for (const key of ownerBuckets) expect(key).toMatch(/:owners:\d{1,4}$/);
    const rest = keys.filter((key) => !ownerBuckets.includes(key) && !idempotency.includes(key));
    expect(rest).toEqual(expect.arrayContaining([k.config, k.state, k.grants, k.memberExpiry('m1'), k.memberExpiry('m2'), poolIndexKey(prefix)]));
    expect(rest.length).toBeLessThanOrEqual(12); // a fixed set of per-pool structures, whatever the number of grants
    let indexed = 0;
    for (const key of ownerBuckets) {
      indexed += await admin.hlen(key);
      expect(await admin.object('ENCODING', key)).toBe('listpack');
    }
    expect(indexed).toBe(20);
    expect(await admin.hlen(k.grants)).toBe(30);
    expect((await admin.zcard(k.memberExpiry('m1'))) + (await admin.zcard(k.memberExpiry('m2')))).toBe(30);
    // '<pool>.<rest>' ids are stored by their rest.
    expect(await admin.hexists(k.grants, 'g0')).toBe(1);
    const { fence, nx, ...counts } = await admin.hgetall(k.state);
    expect(counts).toEqual({ active: '30', 'm:m1': '15', 'm:m2': '15', 'a:a': '30' });
    expect(fence).toMatch(/^\d{16}$/); // store time × 1000 or above, written in full (never 1.7e+15)
    // The next-expiry bound (lua/includes/leases.lua): written in full, and no lease expires before it.
    expect(nx).toMatch(/^\d{13}$/);
    const [, soonest1] = await admin.zrange(k.memberExpiry('m1'), 0, 0, 'WITHSCORES');
    const [, soonest2] = await admin.zrange(k.memberExpiry('m2'), 0, 0, 'WITHSCORES');
    expect(Number(nx)).toBeLessThanOrEqual(Math.min(Number(soonest1), Number(soonest2)));
    expect((await admin.smembers(poolIndexKey(prefix))).sort()).toEqual(['p', 'q']);
  });

  it('keeps the start-time index only while the pool has a maximum session duration, built once when one is set', async () => {
    const store = open();
    const k = poolKeys(prefix, 'p');
    await store.syncPools([poolSpec({ perEmployeeLimit: 5, members: [member('m1', 2000)], agencies: [share('a', 0, 5000)] })]);
    // More grants than one HSCAN page, so the rebuild walks several pages.
    const ids: string[] = [];
    for (let i = 0; i < 1200; i++) ids.push(created(await store.grant({ pool: 'p', owner: `o${i % 300}`, agency: 'a', clientId: `c${i}`, newGrantId: `p.g${i}` })).id);
    expect(await admin.exists(k.started)).toBe(0);
    const setMax = async (maxSessionMs: number | null) => {
      const layers = (await store.getPoolLayers('p'))!;
      expect(value(await store.setPoolOverrides('p', { maxSessionMs }, layers.revision)).applied).toBe(true);
    };
    await setMax(3_600_000);
    expect(await admin.zcard(k.started)).toBe(1200);
    const g = value(await store.get('p', ids[700]!));
    expect(Number(await admin.zscore(k.started, 'g700'))).toBe(g.createdAt);
    // New leases are indexed while the maximum stays, released ones leave it.
    created(await store.grant({ pool: 'p', owner: 'o-new', agency: 'a', clientId: 'c', newGrantId: 'p.gnew' }));
    value(await store.release('p', ids[0]!));
    await setMax(1_800_000);
    expect(await admin.zcard(k.started)).toBe(1200);
    expect(await admin.zscore(k.started, 'g0')).toBeNull();
    expect(await admin.zscore(k.started, 'gnew')).not.toBeNull();
    // Removing the maximum drops the index; later leases are not indexed.
    await setMax(null);
    expect(await admin.exists(k.started)).toBe(0);
    created(await store.grant({ pool: 'p', owner: 'o-late', agency: 'a', clientId: 'c', newGrantId: 'p.glate' }));
    expect(await admin.exists(k.started)).toBe(0);
    expect(await store.sessionsEnding('p', 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
    // Setting a maximum again builds it again, from every lease held.
    await setMax(600_000);
    expect(await admin.zcard(k.started)).toBe(1201);
    expect(await admin.zscore(k.started, 'glate')).not.toBeNull();
  });

  it('reads capacities from Redis at every admission: a change one replica writes applies to all at once', async () => {
    const replicaA = open();
    const replicaB = open();
    await replicaA.syncPools([poolSpec({ members: [member('m1', 1)] })]);
    created(await replicaB.grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'g1' }));
    expect(value(await replicaB.grant({ pool: 'p', owner: 'o2', agency: 'a', clientId: 'c', newGrantId: 'g2' }))).toMatchObject({ code: 'pool-full' });
    await replicaA.syncPools([poolSpec({ members: [member('m1', 2)] })]);
    created(await replicaB.grant({ pool: 'p', owner: 'o2', agency: 'a', clientId: 'c', newGrantId: 'g2' }));
    await replicaA.syncPools([poolSpec({ members: [member('m1', 5, 'drain')] })]);
    expect(value(await replicaB.grant({ pool: 'p', owner: 'o3', agency: 'a', clientId: 'c', newGrantId: 'g3' }))).toMatchObject({ code: 'pool-unavailable' });
    expect(await replicaB.getPoolSpec('p')).toEqual(poolSpec({ members: [member('m1', 5, 'drain')] }));
    // A grant made through one replica is seen, replayed and released through another.
    await replicaA.syncPools([poolSpec({ members: [member('m1', 5)] })]);
    const g = created(await replicaA.grant({ pool: 'p', owner: 'o9', agency: 'a', clientId: 'c', newGrantId: 'g9', idempotencyKey: 'k' }));
    expect(value(await replicaB.grant({ pool: 'p', owner: 'o9', agency: 'a', clientId: 'x', newGrantId: 'g10', idempotencyKey: 'k' }))).toMatchObject({ outcome: 'replayed', grant: g });
    expect(value(await replicaB.release('p', g.id, 'o9'))).toEqual(g);
    expect(await replicaA.get('p', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
  });

  it('close() quits the client it was given', async () => {
    const store = open();
    await store.ping();
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    await expect(store.ping()).rejects.toThrow();
  });

  it('keeps beside the JSON definition a packed copy of what the scripts read, nothing else', async () => {
    const store = open();
    const spec = poolSpec({ name: 'VPN', licenceLimit: 15, members: [{ id: 'm1', host: 'gw-1.example', maxSessions: 10, state: 'drain', stateReason: 'patch', stateBy: 'operator', stateSince: 1 }, member('m2', 10)] });
    await store.syncPools([spec]);
    const keys = poolKeys(prefix, 'p');
    const unpacked = JSON.parse(String(await admin.eval("return cjson.encode(cmsgpack.unpack(redis.call('HGET', KEYS[1], 'packed')))", 1, keys.layers)));
    const { name: _name, kind: _kind, ...rest } = spec;
    expect(unpacked).toEqual({ ...rest, members: [{ id: 'm1', maxSessions: 10, state: 'drain' }, member('m2', 10)] });
    await store.close();
  });

  it('lets a script error reach the caller', async () => {
    const store = open();
    await store.syncPools([poolSpec()]);
    await admin.set(poolKeys(prefix, 'p').config, '{not json');
    // Without the packed copy (a pool written by an older release) the script reads the JSON.
    await admin.hdel(poolKeys(prefix, 'p').layers, 'packed');
    await expect(store.grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'g1' })).rejects.toThrow(/json|Expected/i);
    await expect(store.syncPools([{ ...poolSpec(), id: 'q' }])).resolves.toBeUndefined();
  });

  describe('when Redis cannot be reached', () => {
    it('throws from every operation (the service answers store-unavailable)', async () => {
      const server = await startRedisServer(6381);
      // Fail at once instead of queueing for a reconnect (the default client waits for one first).
      const client = new Redis({ host: '127.0.0.1', port: server.port, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
      try {
        await client.connect();
        const store = new RedisLeaseStore(client, { ...defaultOptions, keyPrefix: 't:' });
        await store.syncPools([poolSpec()]);
        created(await store.grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'g1' }));
        await server.stop();
        await expect(store.grant({ pool: 'p', owner: 'o2', agency: 'a', clientId: 'c', newGrantId: 'g2' })).rejects.toThrow();
        await expect(store.heartbeat('p', 'g1')).rejects.toThrow();
        await expect(store.snapshot('p')).rejects.toThrow();
        await expect(store.reap('p', 10)).rejects.toThrow();
        await expect(store.now()).rejects.toThrow();
        await expect(store.ping()).rejects.toThrow();
      } finally {
        // Already closed for good (retryStrategy null): disconnect() would arm a 2 s timer for a socket that is gone.
        if (client.status !== 'end') client.disconnect();
        await server.stop();
      }
    });
  });
});
