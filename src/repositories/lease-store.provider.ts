import { Logger, type Provider } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { AppConfig, RedisTarget } from '../config/config.loader';
import { poolSpecsFromConfig } from '../config/pool-specs';
import { ConfigRepository } from './config.repository';
import { LEASE_STORE, type LeaseStore, type LeaseStoreOptions } from './lease-store';
import { MemoryLeaseStore } from './memory/memory-lease.store';
import { RedisLeaseStore } from './redis/redis-lease.store';
import { SentinelReplicas } from './redis/sentinel-replicas';

const logger = new Logger('LeaseStore');

/** How long start-up waits for the first write of the pool definitions before it goes on (not ready). */
const STARTUP_WRITE_WAIT_MS = 5_000;

export function storeOptions(config: AppConfig): LeaseStoreOptions {
  const { leases, idempotency } = config.broker;
  return {
    reapBatch: leases.reapBatch,
    bulkRenewalGraceMs: leases.bulkRenewalGraceSeconds * 1000,
    idempotencyTtlMs: idempotency.ttlSeconds * 1000,
  };
}

/**
 * A write sent to a node that was demoted to replica fails with READONLY before it changes
 * anything: reconnect (Sentinel then names the new master) and send it again.
 */
export function reconnectOnReadonly(e: Error): 2 | false {
  return e.message.startsWith('READONLY') ? 2 : false;
}

/** An ioredis client (or cluster client) for the configured target. Commands fail fast while Redis is away. */
export function redisClient(target: RedisTarget, extra: RedisOptions = {}): Redis | Cluster {
  // disconnectTimeout: ioredis waits this long for a closing socket before destroying it, and arms that
  // wait even for a socket that is already gone (a client closed while reconnecting), keeping the process
  // alive for it; 2 s by default, far more than a close takes on a healthy connection.
  const common: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5_000, disconnectTimeout: 200, reconnectOnError: reconnectOnReadonly, ...extra };
  const password = target.password ? { password: target.password } : {};
  switch (target.mode) {
    case 'standalone':
      return new Redis(target.url, { ...common, ...password });
    case 'sentinel':
      // failoverDetector: the Sentinels' +switch-master moves the client to the new master at once,
      // instead of writing to the old one until it is demoted (docs/guarantees.md).
      return new Redis({
        ...common,
        ...password,
        sentinels: target.sentinels,
        name: target.master,
        failoverDetector: true,
        ...(target.password ? { sentinelPassword: target.password } : {}),
      });
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
  // No auto-pipelining: ioredis holds every command issued while its last auto-pipeline is still
  // waiting for Redis's answer, so admissions queue behind one round trip at a time. Written at once,
  // they are pipelined on the connection anyway. Measured at full load on Redis (docs/performance.md,
  // fourth pass): 11–50 % more admissions per second, at the same or less broker CPU per request.
  const client = redisClient(config.redis, { enableAutoPipelining: false, commandTimeout: config.redisCommandTimeoutMs });
  // REDIS_ACK_REPLICAS=all on Sentinel: as many replicas as Sentinel knows for the master must have a write.
  const target = config.redis;
  const sentinelReplicas =
    target.mode === 'sentinel' && config.redisAck.replicas === 'all'
      ? new SentinelReplicas(target.sentinels, target.master, target.password, (e) => logger.warn(`asking a Sentinel for the replicas failed: ${e.message}`))
      : null;
  await sentinelReplicas?.start();
  const ack = { ...config.redisAck, ...(sentinelReplicas ? { replicaSet: () => sentinelReplicas.set } : {}) };
  const store = new RedisLeaseStore(client as Redis, { ...storeOptions(config), keyPrefix: config.redisKeyPrefix, ack, onClose: () => sentinelReplicas?.stop() });
  const warnWrite = (e: Error) => logger.warn(`writing pool definitions failed, trying again: ${e.message}`);
  client.on('error', (e: Error) => logger.warn(`redis: ${e.message}`));
  // A reconnect may land on a new master or an emptied node: write the definitions again.
  client.on('ready', () => void store.rewritePools(warnWrite));
  // Start anyway after a while: readiness stays false and pools answer 503 until the definitions are written.
  const written = store.keepPoolsWritten(specs, warnWrite).then(() => true);
  const inTime = await Promise.race([written, new Promise<false>((r) => setTimeout(() => r(false), STARTUP_WRITE_WAIT_MS).unref())]);
  if (inTime) logger.log(`Redis store (${config.redis.mode}), key prefix "${config.redisKeyPrefix}", writes confirmed by ${config.redisAck.replicas} replica(s), scripts run as ${store.scriptMode === 'eval' ? 'EVALSHA (no Redis Functions here)' : 'Redis Functions'}`);
  else logger.error('Redis not ready at start-up: pool definitions will be written as soon as it is (readiness false until then)');
  return store;
}

export const leaseStoreProvider: Provider = {
  provide: LEASE_STORE,
  inject: [ConfigRepository],
  useFactory: (config: ConfigRepository) => createLeaseStore(config.get()),
};
