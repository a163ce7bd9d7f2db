import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { ExpiredLease } from '../../src/domain/grant';
import { ConfigRepository } from '../../src/repositories/config.repository';
import type { LeasePort, LeaseStore } from '../../src/repositories/lease-store';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { BrokerEvents } from '../../src/services/broker-events';
import { MIN_SWEEP_GAP_MS, SweeperService } from '../../src/services/sweeper.service';
import { poolSpec } from '../support/pool-spec';
import { deleteKeys, testConfig, TEST_REDIS_URL } from '../support/test-app';

describe('SweeperService', () => {
  it('reaps in batches until a pool has none left, and lets other work run between batches', async () => {
    const expiring = [1000, 1000, 1000, 7]; // the first pool's batches; the other pools have none
    const order: string[] = [];
    const store = {
      reap: (pool: string) => {
        const n = expiring.shift() ?? 0;
        order.push(`reap ${n}`);
        return Promise.resolve(Array.from({ length: n }, (_, i) => ({ id: `${pool}.${i}`, pool, member: 'm', agency: 'a', owner: 'o' }) as unknown as ExpiredLease));
      },
    } as unknown as LeasePort;
    const sweeper = new SweeperService(store, new ConfigRepository(testConfig()), new BrokerEvents());
    const sweeping = sweeper.sweep();
    setImmediate(() => order.push('request'));
    expect(await sweeping).toBe(3007);
    // A request that came in during the sweep ran after the first batch, not after the whole sweep.
    expect(order.slice(0, 3)).toEqual(['reap 1000', 'request', 'reap 1000']);
  });
});

/** Just what the sweeper reads of the configuration. */
const config = (sweepIntervalSeconds: number, pools = ['p']) => ({ get: () => ({ broker: { pools: pools.map((id) => ({ id })), leases: { sweepIntervalSeconds } } }) }) as unknown as ConfigRepository;

describe('SweeperService scheduling', () => {
  const storeSaying = (answers: Record<string, number | null | Error>) =>
    ({
      nextExpiryIn: (pool: string) => {
        const a = answers[pool];
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a ?? null);
      },
    }) as unknown as LeasePort;

  it('sweeps next when the soonest lease of any pool expires, no sooner than MIN_SWEEP_GAP_MS and no later than the interval', async () => {
    const next = (answers: Record<string, number | null | Error>) => new SweeperService(storeSaying(answers), config(5, ['p', 'q']), new BrokerEvents()).nextSweepIn();
    expect(await next({ p: null, q: null })).toBe(5_000);
    expect(await next({ p: 3_000, q: 1_200 })).toBe(1_201);
    expect(await next({ p: 0, q: null })).toBe(MIN_SWEEP_GAP_MS);
    expect(await next({ p: 60_000, q: 9_000 })).toBe(5_000);
    // A pool whose store does not answer: the others still count, that one waits for the interval.
    expect(await next({ p: new Error('store away'), q: 2_000 })).toBe(2_001);
  });
});

describe.each(['memory', 'redis'] as const)('SweeperService on the %s store', (kind) => {
  const prefix = `test:${randomUUID()}:`;
  let store: LeaseStore;
  let sweeper: SweeperService | null = null;
  afterEach(async () => {
    await sweeper?.beforeApplicationShutdown();
    await store.close();
    if (kind === 'redis') await deleteKeys(prefix);
  });

  it('reclaims a lease soon after it expires, not a sweep interval (here an hour) later', async () => {
    const options = { reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000 };
    store = kind === 'memory' ? new MemoryLeaseStore(options) : new RedisLeaseStore(new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }), { ...options, keyPrefix: prefix });
    await store.syncPools([poolSpec({ leaseTtlMs: 600 })]);
    const r = await store.grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'p.000000000001' });
    if (!r.ok || r.value.outcome !== 'created') throw new Error('not created');
    const { expiresAt } = r.value.grant;
    const events = new BrokerEvents();
    const reclaimed = new Promise<number>((resolve) => events.on('expired', () => resolve(Date.now())));
    sweeper = new SweeperService(store, config(3_600), events);
    sweeper.onApplicationBootstrap();
    const at = await Promise.race([reclaimed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000).unref())]);
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(expiresAt);
    expect((await store.snapshot('p')).ok && (await store.snapshot('p'))).toMatchObject({ value: { active: 0 } });
  });
});
