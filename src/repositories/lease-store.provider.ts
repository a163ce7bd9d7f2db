import { Logger, type Provider } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { AppConfig, RedisTarget } from '../config/config.loader';
import { poolSpecsFromConfig } from '../domain/pool-spec';
import { ConfigRepository } from './config.repository';
import { LEASE_STORE, type LeaseStore, type LeaseStoreOptions } from './lease-store';
import { MemoryLeaseStore } from './memory/memory-lease.store';
import { RedisLeaseStore } from './redis/redis-lease.store';

const logger = new Logger('LeaseStore');

export function storeOptions(config: AppConfig): LeaseStoreOptions {
  const { leases, idempotency } = config.broker;
  return {
    reapBatch: leases.reapBatch,
    bulkRenewalGraceMs: leases.bulkRenewalGraceSeconds * 1000,
    idempotencyTtlMs: idempotency.ttlSeconds * 1000,
  };
}

/** An ioredis client (or cluster client) for the configured target. Commands fail fast while Redis is away. */
export function redisClient(target: RedisTarget, extra: RedisOptions = {}): Redis | Cluster {
  // disconnectTimeout: ioredis waits this long for a closing socket before destroying it, and arms that
  // wait even for a socket that is already gone (a client closed while reconnecting), keeping the process
  // alive for it; 2 s by default, far more than a close takes on a healthy connection.
  const common: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5_000, disconnectTimeout: 200, ...extra };
  const password = target.password ? { password: target.password } : {};
  switch (target.mode) {
    case 'standalone':
      return new Redis(target.url, { ...common, ...password });
    case 'sentinel':
      return new Redis({ ...common, ...password, sentinels: target.sentinels, name: target.master, ...(target.password ? { sentinelPassword: target.password } : {}) });
    case 'cluster': {
      // Auto-pipelining is an option of the cluster client itself (it pipelines per node), not of its connections.
      const { enableAutoPipelining, ...redisOptions } = common;
      return new Cluster(target.nodes, { redisOptions: { ...redisOptions, ...password }, scaleReads: 'master', ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}) });
    }
  }
}

/**
 * Builds the store the configuration asks for and writes the pool definitions
 * of the config file into it. With Redis, the definitions are written again
 * whenever the connection comes back, so a flushed or replaced Redis recovers.
 * Only the config file's layer is written: runtime overrides (operator API,
 * circuit breaker, schedules) stay on top of it (docs/admission.md, "Runtime overrides").
 */
export async function createLeaseStore(config: AppConfig): Promise<LeaseStore> {
  const specs = poolSpecsFromConfig(config.broker);
  if (!config.redis) {
    logger.log('embedded in-process store: state lives in this process only — run ONE replica (set REDIS_URL for several)');
    const store = new MemoryLeaseStore(storeOptions(config));
    await store.syncPools(specs);
    return store;
  }
  // Auto-pipelining sends the commands issued in one event-loop turn in one socket write: under
  // load many admissions share a write instead of paying one syscall each (docs/performance.md).
  // Each script is still one atomic EVALSHA; only their transport is batched.
  const client = redisClient(config.redis, { enableAutoPipelining: true });
  const store = new RedisLeaseStore(client as Redis, { ...storeOptions(config), keyPrefix: config.redisKeyPrefix });
  client.on('error', (e: Error) => logger.warn(`redis: ${e.message}`));
  client.on('ready', () => {
    store.syncPools(specs).catch((e: Error) => logger.error(`writing pool definitions failed: ${e.message}`));
  });
  try {
    await store.syncPools(specs);
    logger.log(`Redis store (${config.redis.mode}), key prefix "${config.redisKeyPrefix}"`);
  } catch (e) {
    // Start anyway: readiness stays false until Redis answers, and 'ready' writes the definitions then.
    logger.error(`Redis not reachable at start-up: ${(e as Error).message}`);
  }
  return store;
}

export const leaseStoreProvider: Provider = {
  provide: LEASE_STORE,
  inject: [ConfigRepository],
  useFactory: (config: ConfigRepository) => createLeaseStore(config.get()),
};
