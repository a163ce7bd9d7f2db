import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { LeaseStoreOptions } from '../../../src/repositories/lease-store';
import { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';

/** The shared Redis of the test runs (CI starts it). Never FLUSHDB it. */
export const SHARED_REDIS = { host: '127.0.0.1', port: 6379 };

/** A fresh key prefix per test, so parallel runs never see each other's keys. */
export function newPrefix(): string {
  return `test:${randomUUID()}:`;
}

/** A client that fails fast instead of queueing commands forever when Redis is down. */
export function connect(port = SHARED_REDIS.port): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false });
}

/** A store's client, with the options the broker gives its own (src/repositories/lease-store.provider.ts): no auto-pipelining. */
export function storeClient(port = SHARED_REDIS.port): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false, enableAutoPipelining: false });
}

/** Every key under a prefix (SCAN, never KEYS on a shared server). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under a prefix, one key per command (the keys of several pools lie in several cluster slots). */
export async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.unlink(key);
  await pipeline.exec();
}

export const defaultOptions: LeaseStoreOptions = { reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000 };

/** A store on its own client, as one broker replica would have. */
export function openStore(prefix: string, options: Partial<LeaseStoreOptions> = {}, port = SHARED_REDIS.port): RedisLeaseStore {
  return new RedisLeaseStore(storeClient(port), { ...defaultOptions, ...options, keyPrefix: prefix });
}



/** A throw-away redis-server on a loopback port of this area's range (6380–6389). */
export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

export async function startRedisServer(port: number, extraArgs: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), `redis-${port}-`));
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused until the server listens: retried below
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (err) {
        if (attempt >= 100 || proc.exitCode !== null) throw new Error(`redis-server on port ${port} did not start: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    probe.disconnect();
  }
  return {
    port,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { member, poolSpec, share } from '../../support/pool-spec';
