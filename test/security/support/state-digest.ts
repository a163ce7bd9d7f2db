import Redis from 'ioredis';
import { LEASE_STORE, type LeaseStore } from '../../../src/repositories/lease-store';
import { TEST_REDIS_URL, type TestApp } from '../../support/test-app';

/**
 * Everything the store holds that a request could change: per-pool snapshots (the time left out)
 * and, with Redis, every key under the app's prefix with its value (DUMP). Rate-limit counters are
 * kept apart under a hash-tagged key of their own and are not state.
 */
export async function stateDigest(t: TestApp, pools: string[], redis?: Redis): Promise<string> {
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
      const keys = (await client.keys(`${t.config.redisKeyPrefix}*`)).sort();
      for (const k of keys) parts.push([k, (await client.dumpBuffer(k))?.toString('base64')]);
    } finally {
      if (!redis) client.disconnect();
    }
  }
  return JSON.stringify(parts);
}
