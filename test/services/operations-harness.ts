/**
 * The operations services wired by hand on a real store (embedded, or Redis
 * under a fresh key prefix) with an injected store clock, a settable replica
 * clock and a cron double that fires jobs when a test says so.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { BrokerConfig } from '../../src/config/broker-config.schema';
import type { AppConfig } from '../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { ClockRepository } from '../../src/repositories/clock.repository';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { CronRepository, type CronJob } from '../../src/repositories/cron.repository';
import type { LeaseStore } from '../../src/repositories/lease-store';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { BrokerEvents } from '../../src/services/broker-events';
import { RuntimeChangesService } from '../../src/services/runtime-changes.service';
import { deleteKeys, testConfig, TEST_REDIS_URL } from '../support/test-app';

/** Records what is scheduled; `fire` runs a job as node-cron would at that occurrence. */
export class FakeCron extends CronRepository {
  readonly jobs = new Map<string, { expression: string; timezone: string; job: CronJob }>();

  override schedule(name: string, expression: string, timezone: string, job: CronJob): void {
    if (this.jobs.has(name)) throw new Error(`cron job "${name}" is scheduled twice`);
    this.jobs.set(name, { expression, timezone, job });
  }

  async fire(name: string, at: number): Promise<void> {
    const j = this.jobs.get(name);
    if (!j) throw new Error(`no cron job "${name}"; jobs: ${[...this.jobs.keys()].join(', ')}`);
    await j.job(new Date(at));
  }
}

export class FakeClock extends ClockRepository {
  constructor(public at: number) {
    super();
  }
  override now(): number {
    return this.at;
  }
}

export interface Harness {
  store: LeaseStore;
  config: ConfigRepository;
  events: BrokerEvents;
  changes: RuntimeChangesService;
  metrics: MetricsRepository;
  cron: FakeCron;
  clock: FakeClock;
  /** The store's clock (what records and leases are stamped with). */
  storeNow: { at: number };
  /** Another "replica" on the same store: its own events, metrics, cron and clock. */
  replica(): Omit<Harness, 'replica' | 'close' | 'store' | 'config' | 'storeNow'>;
  close(): Promise<void>;
}

/** A harness on the operations fixture, with `edit` applied to the parsed config. */
export async function harness(kind: 'memory' | 'redis', at: number, edit: (b: BrokerConfig) => void = () => {}): Promise<Harness> {
  const app: AppConfig = structuredClone(testConfig({ file: 'operations.yaml' }));
  edit(app.broker);
  const storeNow = { at };
  const options = { reapBatch: 100, bulkRenewalGraceMs: 0, idempotencyTtlMs: 600_000, clock: () => storeNow.at };
  const prefix = `test:${randomUUID()}:`;
  const store: LeaseStore = kind === 'memory' ? new MemoryLeaseStore(options) : new RedisLeaseStore(new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }), { ...options, keyPrefix: prefix });
  await store.syncPools(poolSpecsFromConfig(app.broker));
  const config = new ConfigRepository(app);
  const replica = () => {
    const events = new BrokerEvents();
    return { events, changes: new RuntimeChangesService(store, events), metrics: new MetricsRepository(), cron: new FakeCron(), clock: new FakeClock(at) };
  };
  return {
    store,
    config,
    storeNow,
    ...replica(),
    replica,
    close: async () => {
      await store.close();
      if (kind === 'redis') await deleteKeys(prefix);
    },
  };
}

/** Operator records of a pool, oldest first. */
export async function operatorRecords(store: LeaseStore, pool: string) {
  const out = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.readAudit(pool, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 500, ...(after ? { after } : {}) });
    out.push(...page.records.filter((r) => r.ev === 'operator'));
    if (page.next === null) return out;
    after = page.next;
  }
}
