import Redis from 'ioredis';
import { poolBase } from '../../../src/repositories/redis/keys';
import { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';
import { describeLeaseStoreContract } from '../lease-store.contract';
import { defaultOptions, deleteUnder, keysUnder, member, newPrefix, poolSpec, share, startRedisServer, storeClient, type RedisServer } from './redis-test-utils';

// Redis Cluster: a node with cluster mode on (one node owning every slot, so a plain
// client gets no redirects). Redis 7 then refuses any script declared with a `#!lua`
// line (all of ours) that touches keys of two slots, declared or not — so the whole
// contract passing here shows every script stays in its pool's slot. A scan after a
// workload checks the same from the other side.
const PORT = 6380;

describe('RedisLeaseStore on a Redis Cluster node', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer(PORT, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${PORT}.conf`]);
    admin = new Redis({ host: '127.0.0.1', port: PORT, maxRetriesPerRequest: 1 });
    await admin.cluster('ADDSLOTSRANGE', 0, 16383);
    for (let i = 0; !/cluster_state:ok/.test(String(await admin.cluster('INFO'))); i++) {
      if (i > 100) throw new Error('the cluster node did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });

  it('refuses a script that touches two slots (the check the rest relies on is on)', async () => {
    await expect(admin.eval("#!lua\nredis.call('GET', KEYS[1]); return redis.call('GET', KEYS[1] .. 'x')", 1, '{a}k')).resolves.toBeNull();
    await expect(admin.eval("#!lua\nredis.call('GET', KEYS[1]); return redis.call('GET', 'other')", 1, '{a}k')).rejects.toThrow(/same slot/);
  });

  describeLeaseStoreContract('redis, cluster mode', async ({ clock, options }) => {
    const prefix = newPrefix();
    const store = new RedisLeaseStore(storeClient(PORT), {
      ...defaultOptions,
      ...options,
      clock,
      keyPrefix: prefix,
    });
    return {
      store,
      cleanup: async () => {
        await deleteUnder(admin, prefix);
        await store.close();
      },
    };
  });

  it('keeps every key of a pool in the slot of its base', async () => {
    const prefix = newPrefix();
    const store = new RedisLeaseStore(new Redis({ host: '127.0.0.1', port: PORT }), { ...defaultOptions, reapBatch: 5, bulkRenewalGraceMs: 0, keyPrefix: prefix });
    try {
      const pools = ['vpn-statenet', 'vdi-desktop', 'p3'];
      await store.syncPools(
        pools.map((id) => poolSpec({ id, perEmployeeLimit: 2, leaseTtlMs: 50, members: [member('gw-01', 50), member('gw-02', 50)], agencies: [share('a', 5, 60), share('b', 5, 60)] })),
      );
      for (const pool of pools) {
        for (let i = 0; i < 20; i++) {
          const r = await store.grant({ pool, owner: `o${i}`, agency: i % 2 ? 'a' : 'b', clientId: 'c', newGrantId: `${pool}.g${i}`, idempotencyKey: `k${i}` });
          if (!r.ok || r.value.outcome !== 'created') throw new Error(`grant ${i} in ${pool}: ${JSON.stringify(r)}`);
        }
        await store.heartbeat(pool, `${pool}.g1`);
        await store.release(pool, `${pool}.g2`, 'o2');
        await store.listByOwner(pool, 'o3');
        await store.bulkRenew({ pool, member: 'gw-01', active: [`${pool}.g3`], ended: [`${pool}.g4`] });
      }
      await new Promise((r) => setTimeout(r, 60)); // let the rest expire (store time is Redis TIME here)
      for (const pool of pools) {
        await store.grant({ pool, owner: 'late', agency: 'a', clientId: 'c', newGrantId: `${pool}.late` });
        await store.reap(pool, 100);
        await store.snapshot(pool);
      }

      const keys = await keysUnder(admin, prefix);
      expect(keys.length).toBeGreaterThan(pools.length * 4);
      for (const pool of pools) {
        const base = poolBase(prefix, pool);
        const slot = await admin.cluster('KEYSLOT', base);
        const mine = keys.filter((k) => k.startsWith(base));
        expect(mine.length).toBeGreaterThanOrEqual(4);
        for (const k of mine) expect([k, await admin.cluster('KEYSLOT', k)]).toEqual([k, slot]);
      }
      // Only the pool index lies outside the pools' slots (written by syncPools in its own call).
      expect(keys.filter((k) => !pools.some((p) => k.startsWith(poolBase(prefix, p))))).toEqual([`${prefix}pools`]);
    } finally {
      await deleteUnder(admin, prefix);
      await store.close();
    }
  });
});
