import Redis from 'ioredis';
import { LEASE_STORE, type LeaseStore } from '../../../src/repositories/lease-store';
import { claimKey } from '../../../src/repositories/redis/keys';
import { TEST_REDIS_URL, type TestApp } from '../../support/test-app';

/**
 * Everything the store holds that a request could change: per-pool snapshots (the time left out)
 * and, with Redis, every key under the app's prefix with its value (DUMP). Rate-limit counters are
 * kept apart under a hash-tagged key of their own and are not state, nor are job claims.
 */
export async function stateDigest(t: TestApp, pools: string[], redis?: Redis): Promise<string[]> {
  const store = t.app.get<LeaseStore>(LEASE_STORE);
  const parts: unknown[] = [];
  for (const p of pools) {
    const r = await store.snapshot(p);
    parts.push(r.ok ? { ...r.value, at: 0 } : r);
    const layers = await store.getPoolLayers(p);
    parts.push(layers);
  }
  if (t.config.redis) {
    const client = redis ?? new Redis(TEST_REDIS_URL);
    try {
      // Job claims are the scheduler's bookkeeping: the clock makes them (a minute's job claimed), never a request.
      const jobs = claimKey(t.config.redisKeyPrefix, '');
      const keys = (await client.keys(`${t.config.redisKeyPrefix}*`)).filter((k) => !k.startsWith(jobs)).sort();
      for (const k of keys) parts.push([k, (await client.dumpBuffer(k))?.toString('base64')]);
    } finally {
      if (!redis) client.disconnect();
    }
  }
  return parts.map((p) => JSON.stringify(p));
}

/** The first entries in which two digests differ, for a failure message. */
export function digestDiff(before: string[], after: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < Math.max(before.length, after.length) && out.length < 2; i++) {
    if (before[i] !== after[i]) out.push(`before: ${(before[i] ?? '(none)').slice(0, 300)}\n  after: ${(after[i] ?? '(none)').slice(0, 300)}`);
  }
  return out.join('\n');
}

/**
 * The digest once the state has settled: work an earlier request set off after its answer (events,
 * offers to the next in line, audit writes) lands first. Two equal digests 100 ms apart, or an error.
 */
export async function settledDigest(t: TestApp, pools: string[], redis?: Redis): Promise<string[]> {
  let last = await stateDigest(t, pools, redis);
  for (let i = 0; i < 50; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    const now = await stateDigest(t, pools, redis);
    if (now.join() === last.join()) return now;
    last = now;
  }
  throw new Error('the state kept changing for 5 s with no request in flight');
}
