import Redis from 'ioredis';
import type { Grant, GrantResult } from '../../../src/domain/grant';
import type { LeaseResult } from '../../../src/repositories/lease-store';
import { poolKeys } from '../../../src/repositories/redis/keys';
import { leaseLibrary } from '../../../src/repositories/redis/lease-scripts';
import { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';
import { NotAcknowledgedError } from '../../../src/repositories/redis/replica-ack';
import { connect, defaultOptions, deleteUnder, newPrefix, poolSpec, startRedisServer, storeClient, type RedisServer } from './redis-test-utils';

// What docs/guarantees.md promises of a confirmed answer, shown on real redis-server processes
// (a master and a replica on 6386/6387; the whole fault campaign is test/faults/).

function created(r: LeaseResult<GrantResult>): Grant {
  if (!r.ok || r.value.outcome !== 'created') throw new Error(`expected created, got ${JSON.stringify(r)}`);
  return r.value.grant;
}

const cmd = (i: number) => ({ pool: 'p', owner: `o${i}`, agency: 'a', clientId: 'c', newGrantId: `p.g${String(i).padStart(16, '0')}` });

describe('RedisLeaseStore: confirmed means replicated', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let admin: Redis;
  const prefix = newPrefix();

  beforeAll(async () => {
    // No 5 s wait for more replicas before a full sync (Redis 7's repl-diskless-sync-delay default).
    master = await startRedisServer(6386, ['--repl-diskless-sync-delay', '0']);
    replica = await startRedisServer(6387, ['--replicaof', '127.0.0.1', '6386']);
    admin = connect(6386);
    const r = connect(6387);
    for (let i = 0; (await r.info('replication')).includes('master_link_status:down'); i++) {
      if (i > 400) throw new Error('replica did not sync within 20 s');
      await new Promise((res) => setTimeout(res, 50));
    }
    r.disconnect();
  });
  afterAll(async () => {
    admin.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  it('answers a write once the replica has it: what a client is told is on the replica', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: prefix, ack: { replicas: 1, timeoutMs: 2_000 } });
    const r = connect(6387);
    try {
      await store.keepPoolsWritten([poolSpec()]);
      const grants = await Promise.all([1, 2, 3, 4, 5].map((i) => store.grant(cmd(i)).then(created)));
      // Read from the replica at once: every confirmed grant is there.
      for (const g of grants) expect(await r.hexists(poolKeys(prefix, 'p').grants, g.id.slice(2))).toBe(1);
    } finally {
      r.disconnect();
      await store.close();
    }
  });

  it('does not confirm a write no replica acknowledged: the caller gets an error (503), the key still finds it', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: prefix, ack: { replicas: 2, timeoutMs: 100 } });
    try {
      await expect(store.grant({ ...cmd(9), idempotencyKey: 'retry-key-9' })).rejects.toBeInstanceOf(NotAcknowledgedError);
      // The master applied it; a retry with the same key is answered from it (and again not confirmed).
      await expect(store.grant({ ...cmd(10), owner: 'o9', idempotencyKey: 'retry-key-9' })).rejects.toBeInstanceOf(NotAcknowledgedError);
      expect(await admin.hlen(poolKeys(prefix, 'p').grants)).toBe(6);
    } finally {
      await store.close();
    }
  });

  it('fencing tokens stay above every earlier one when the counter is lost (a failover that dropped writes, an emptied node)', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: prefix, ack: { replicas: 1, timeoutMs: 2_000 } });
    try {
      await store.keepPoolsWritten([poolSpec({ id: 'f' })]);
      const before = created(await store.grant({ ...cmd(20), pool: 'f', newGrantId: 'f.x1' }));
      await admin.hdel(poolKeys(prefix, 'f').state, 'fence');
      // The floor is the store time in ms × 1000 (fence.lua): it covers a loss that takes at least a
      // millisecond, as every failover or restart does. Two grants inside one millisecond around a
      // deletion are not that case (the first token was that millisecond's floor itself).
      const firstMs = Math.floor(before.fencingToken / 1000);
      while ((await store.now()) <= firstMs) await new Promise((r) => setTimeout(r, 1));
      const after = created(await store.grant({ ...cmd(21), pool: 'f', newGrantId: 'f.x2' }));
      expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
      expect(Number.isSafeInteger(after.fencingToken)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('writes configured pools again when they go missing: 503 meanwhile (never unknown-pool), readiness false until written', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: `${prefix}w:`, ack: { replicas: 1, timeoutMs: 2_000 } });
    try {
      await store.keepPoolsWritten([poolSpec({ id: 'w' })]);
      await store.ping();
      await deleteUnder(admin, `${prefix}w:`); // the node came back empty
      await expect(store.grant({ ...cmd(30), pool: 'w', newGrantId: 'w.x1' })).rejects.toThrow(/missing from the store/);
      // A pool that is not configured is still simply unknown.
      expect(await store.grant({ ...cmd(31), pool: 'nope', newGrantId: 'nope.x1' })).toEqual({ ok: false, failure: 'unknown-pool' });
      await store.rewritePools();
      await store.ping();
      created(await store.grant({ ...cmd(32), pool: 'w', newGrantId: 'w.x2' }));
    } finally {
      await store.close();
    }
  });

  it('loads its function library again on a node that lost it, and the call that found it missing runs once; replicas get it by replication', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: `${prefix}f:`, ack: { replicas: 1, timeoutMs: 2_000 }, scripts: 'functions' });
    const replicaAdmin = connect(6387);
    const libraries = async (r: Redis) => ((await r.function('LIST')) as unknown[][]).map((l) => l[1]);
    try {
      await store.keepPoolsWritten([poolSpec({ id: 'f' })]);
      const first = created(await store.grant({ ...cmd(50), pool: 'f', newGrantId: 'f.x1' }));
      expect(await libraries(admin)).toContain(leaseLibrary.name);
      expect(await libraries(replicaAdmin)).toContain(leaseLibrary.name); // FUNCTION LOAD is replicated
      await admin.function('FLUSH'); // a node that came back without it (the keys are still there)
      expect(await libraries(admin)).toEqual([]);
      const second = created(await store.grant({ ...cmd(51), pool: 'f', newGrantId: 'f.x2' }));
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      expect(await libraries(admin)).toContain(leaseLibrary.name);
      // Ran once: two grants held, not three.
      expect(await admin.hget(poolKeys(`${prefix}f:`, 'f').state, 'active')).toBe('2');
      expect(store.scriptMode).toBe('functions');
    } finally {
      replicaAdmin.disconnect();
      await store.close();
    }
  });

  it('keeps trying to write the pool definitions while Redis refuses writes (min-replicas-to-write), not ready until then', async () => {
    const store = new RedisLeaseStore(storeClient(6386), { ...defaultOptions, keyPrefix: `${prefix}n:`, ack: { replicas: 1, timeoutMs: 2_000 } });
    await admin.config('SET', 'min-replicas-to-write', '2');
    try {
      const errors: string[] = [];
      const written = store.keepPoolsWritten([poolSpec({ id: 'n' })], (e) => errors.push(e.message));
      await new Promise((r) => setTimeout(r, 400));
      expect(errors.join('\n')).toMatch(/NOREPLICAS/);
      await expect(store.ping()).rejects.toThrow(/not written yet/);
      await admin.config('SET', 'min-replicas-to-write', '0');
      await written;
      await store.ping();
      created(await store.grant({ ...cmd(40), pool: 'n', newGrantId: 'n.x1' }));
    } finally {
      await admin.config('SET', 'min-replicas-to-write', '0');
      await store.close();
    }
  });
});

