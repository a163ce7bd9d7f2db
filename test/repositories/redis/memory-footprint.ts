/**
 * Redis memory per active grant, measured once (not a test: it takes a while).
 *
 *   npx tsx test/repositories/redis/memory-footprint.ts [grants=60000] [idempotent-share=0] [port=6382] [id-chars=12]
 *
 * Starts its own redis-server on 127.0.0.1:<port>, syncs the sample pool
 * vpn-statenet (bench/broker.bench.yaml: the sample's 12 gateways x 5,000, without its admission pacing), fills it through
 * RedisLeaseStore.grant with ids, owners and clients shaped as the service makes
 * them (grant id `<pool>.<12 base64url>`, or 16 as before the ids were shortened, owner 22 base64url, clientId "default"),
 * agencies within their shares, and reports INFO used_memory and MEMORY USAGE of
 * each structure before and after.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { loadAppConfig } from '../../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../../src/config/pool-specs';
import { poolKeys } from '../../../src/repositories/redis/keys';
import { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';
import { startRedisServer } from './redis-test-utils';

const POOL = 'vpn-statenet';

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

async function main(): Promise<void> {
  const grants = Number(process.argv[2] ?? 60_000);
  const idempotentShare = Number(process.argv[3] ?? 0);
  const PORT = Number(process.argv[4] ?? 6382);
  const idBytes = (Number(process.argv[5] ?? 12) * 3) / 4;
  const root = resolve(__dirname, '../../..');
  const config = loadAppConfig({ BROKER_CONFIG: 'bench/broker.bench.yaml', BROKER_STATE_DIR: resolve(root, '.broker') }, root);
  const spec = { ...poolSpecsFromConfig(config.broker).find((p) => p.id === POOL)!, leaseTtlMs: 3_600_000 };

  // Agencies in shuffled order, each at least its guarantee and within its maximum.
  const targets = spec.agencies.map((a) => a.guaranteed);
  let rest = grants - targets.reduce((s, n) => s + n, 0);
  for (let i = 0; rest > 0; i = (i + 1) % targets.length) {
    if (targets[i]! < spec.agencies[i]!.maximum) {
      targets[i]!++;
      rest--;
    }
  }
  const agencies = targets.flatMap((n, i) => Array<string>(n).fill(spec.agencies[i]!.id));
  for (let i = agencies.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [agencies[i], agencies[j]] = [agencies[j]!, agencies[i]!];
  }

  const server = await startRedisServer(PORT);
  const admin = new Redis({ host: '127.0.0.1', port: PORT });
  const store = new RedisLeaseStore(new Redis({ host: '127.0.0.1', port: PORT }), {
    keyPrefix: 'tb:',
    reapBatch: 100,
    bulkRenewalGraceMs: 60_000,
    idempotencyTtlMs: 600_000,
  });
  try {
    await store.syncPools([spec]);
    const before = await usedMemory(admin);
    const started = Date.now();
    const BATCH = 500;
    for (let from = 0; from < grants; from += BATCH) {
      await Promise.all(
        agencies.slice(from, from + BATCH).map(async (agency, k) => {
          const i = from + k;
          const r = await store.grant({
            pool: POOL,
            owner: randomBytes(17).toString('base64url').slice(0, 22),
            agency,
            clientId: 'default',
            newGrantId: `${POOL}.${randomBytes(idBytes).toString('base64url')}`,
            ...(i < grants * idempotentShare ? { idempotencyKey: randomBytes(16).toString('hex') } : {}),
          });
          if (!r.ok || r.value.outcome !== 'created') throw new Error(`grant ${i}: ${JSON.stringify(r)}`);
        }),
      );
    }
    const seconds = (Date.now() - started) / 1000;
    const after = await usedMemory(admin);
    // MEMORY USAGE of every key of the pool, grouped by kind (grants, owners:<n>, exp:<member>, ...).
    const base = poolKeys('tb:', POOL).base;
    const structures: Record<string, number> = {};
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${base.replace(/[{}]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const kind = key.slice(base.length).replace(/:.*$/, ':*');
        structures[kind] = (structures[kind] ?? 0) + Number(await admin.memory('USAGE', key, 'SAMPLES', 0));
      }
    } while (cursor !== '0');
    const snap = await store.snapshot(POOL);
    console.log(
      JSON.stringify(
        {
          redis: (await admin.info('server')).match(/redis_version:(\S+)/)![1],
          grants,
          idempotentShare,
          active: snap.ok ? snap.value.active : null,
          usedMemoryDelta: after - before,
          bytesPerGrant: Math.round(((after - before) / grants) * 10) / 10,
          memoryUsageBytesPerGrant: Object.fromEntries(Object.entries(structures).map(([name, b]) => [name, Math.round((b / grants) * 10) / 10])),
          fillSeconds: seconds,
        },
        null,
        2,
      ),
    );
  } finally {
    await store.close();
    await admin.quit();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
