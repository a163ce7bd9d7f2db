import { Redis, type RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { SharedRateLimitStorage } from '../../../src/repositories/rate-limit-storage';
import { deleteKeys, TEST_REDIS_URL } from '../../support/test-app';

/**
 * The shared rate-limit budgets on a real Redis: replicas are storages of their own on one Redis,
 * synced by hand (syncMs is an hour, so nothing syncs behind the test's back).
 */
describe('SharedRateLimitStorage (real Redis)', () => {
  const LIMIT = 10;
  const WINDOW_MS = 60_000;
  let prefix: string;
  let replicas: SharedRateLimitStorage[];

  const replica = (url = TEST_REDIS_URL, options: RedisOptions = {}) => {
    const s = new SharedRateLimitStorage(new Redis(url, { maxRetriesPerRequest: 0, ...options }), { syncMs: 3_600_000 });
    replicas.push(s);
    return s;
  };
  const hit = (s: SharedRateLimitStorage, who = 'alice', budget = 'grants') => s.increment(`${prefix}rl:${budget}:${who}`, WINDOW_MS, LIMIT, WINDOW_MS, budget);
  const allowed = async (s: SharedRateLimitStorage, n: number, who = 'alice') => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (!(await hit(s, who)).isBlocked) ok++;
    return ok;
  };

  beforeEach(() => {
    prefix = `test:rls:${randomUUID()}:`;
    replicas = [];
  });
  afterEach(async () => {
    for (const s of replicas) await s.close();
    await deleteKeys(prefix);
  });

  it('refuses a caller on one replica at exactly its limit, before any sync, with the time left', async () => {
    const a = replica();
    expect(await allowed(a, LIMIT)).toBe(LIMIT);
    const over = await hit(a);
    expect(over).toMatchObject({ isBlocked: true, totalHits: LIMIT + 1 });
    expect(over.timeToBlockExpire).toBeGreaterThan(0);
    expect(over.timeToBlockExpire).toBeLessThanOrEqual(WINDOW_MS / 1000);
    // Another caller, and another budget of the same caller, are untouched.
    expect((await hit(a, 'bob')).isBlocked).toBe(false);
    expect((await hit(a, 'alice', 'reads')).isBlocked).toBe(false);
  });

  it('shares one budget between replicas once they have synced', async () => {
    const [a, b] = [replica(), replica()];
    expect(await allowed(a, 6)).toBe(6);
    await a.sync();
    await hit(b); // b knows alice from now on: the sync brings what a spent
    await b.sync();
    expect(await allowed(b, 10)).toBe(LIMIT - 7);
  });

  it('spreads the block a replica set to the others at their next sync, though they spent nothing since', async () => {
    const [a, b] = [replica(), replica()];
    await allowed(b, 5); // b has seen alice: half her budget, so b relearns her budget at every sync
    await b.sync();
    expect(await allowed(a, LIMIT)).toBe(LIMIT); // a had not synced since b's five: the lag
    await a.sync(); // 15 in Redis: a sets the block there, and refuses from now on
    expect((await hit(a)).isBlocked).toBe(true);
    await b.sync();
    expect((await hit(b)).isBlocked).toBe(true);
  });

  it('lets a flood spread over replicas between two syncs overspend by at most what the other replicas were sent', async () => {
    const storages = [replica(), replica(), replica()];
    // 60 requests, 20 to each replica, none synced in between: each replica alone allows LIMIT.
    let ok = 0;
    for (let i = 0; i < 60; i++) if (!(await hit(storages[i % 3]!)).isBlocked) ok++;
    expect(ok).toBe(3 * LIMIT);
    // After one sync every replica refuses, and Redis holds the whole count.
    for (const s of storages) await s.sync();
    for (const s of storages) expect((await hit(s)).isBlocked).toBe(true);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(Number(await redis.get(`{${prefix}rl:grants:alice:grants}:hits`))).toBeGreaterThanOrEqual(60);
    } finally {
      redis.disconnect();
    }
  });

  it('forgets a caller once its window is over, so what it keeps follows the callers of one window', async () => {
    let now = Date.now();
    const s = new SharedRateLimitStorage(new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 }), { syncMs: 3_600_000, clock: () => now });
    replicas.push(s);
    for (let i = 0; i < 1_000; i++) await hit(s, `caller-${i}`);
    await s.sync();
    expect(s.callersKept).toBe(1_000);
    now += WINDOW_MS + 1_000;
    await s.sync();
    expect(s.callersKept).toBe(0);
    expect((await hit(s, 'caller-1')).totalHits).toBe(1); // a new window
  });

  it('counts the same without Redis (the embedded store): exact limit, a new window after the old one', async () => {
    let now = Date.now();
    const alone = new SharedRateLimitStorage(null, { syncMs: 50, clock: () => now });
    replicas.push(alone);
    expect(await allowed(alone, LIMIT + 3)).toBe(LIMIT);
    now += WINDOW_MS + 1;
    expect((await hit(alone)).isBlocked).toBe(false);
    await alone.sync();
    expect(alone.callersKept).toBe(1);
  });

  it('keeps judging on its own counts when Redis does not answer, and says so', async () => {
    const away = replica('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    const errors: string[][] = [];
    away.onSyncError = (budgets) => errors.push(budgets);
    expect(await allowed(away, LIMIT + 5)).toBe(LIMIT);
    await away.sync();
    expect(errors).toEqual([['grants']]);
  });
});
