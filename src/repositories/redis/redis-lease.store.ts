import type { Redis } from 'ioredis';
import type {
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  GrantCommand,
  GrantResult,
  PoolSnapshot,
} from '../../domain/grant';
import type { PoolSpec } from '../../domain/pool-spec';
import type { LeaseResult, LeaseStore, LeaseStoreOptions } from '../lease-store';
import { poolBase, poolIndexKey, poolKeys } from './keys';
import {
  bulkRenewScript,
  getScript,
  grantScript,
  heartbeatScript,
  leaseScripts,
  listByOwnerScript,
  reapScript,
  releaseScript,
  snapshotScript,
  syncPoolScript,
} from './lease-scripts';
import { expiredOf, grantOf, outcomeOf, type RawExpired, type RawGrant } from './script-codes';
import { registerScript } from './script-loader';

/**
 * Idempotency memos outlive their logical TTL by this much when a test clock is
 * injected: the script decides by store time, Redis expires the key by wall time.
 */
const TEST_CLOCK_MEMO_SLACK_MS = 24 * 3600 * 1000;

/**
 * The production LeaseStore: any number of broker replicas on one Redis (or
 * Redis Cluster). Each operation is one Lua script and one round trip, with
 * time from Redis TIME; the rules are those of docs/admission.md. Redis errors
 * are not caught here: they reach the service, which answers 'store-unavailable'.
 *
 * The store owns the client: `close()` quits it.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly options: LeaseStoreOptions & { keyPrefix: string },
  ) {
    for (const script of leaseScripts) registerScript(redis, script);
  }

  async syncPools(specs: PoolSpec[]): Promise<void> {
    if (specs.length === 0) return;
    // Each pool lives in its own slot: one script per pool, then the index outside the slots.
    await Promise.all(specs.map((spec) => syncPoolScript(this.redis, this.base(spec.id), null, JSON.stringify(spec))));
    await this.redis.sadd(poolIndexKey(this.options.keyPrefix), ...specs.map((s) => s.id));
  }

  async getPoolSpec(pool: string): Promise<PoolSpec | null> {
    const raw = await this.redis.get(poolKeys(this.options.keyPrefix, pool).config);
    return raw === null ? null : (JSON.parse(raw) as PoolSpec);
  }

  async grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    const idemTtl = this.options.idempotencyTtlMs;
    const reply = await grantScript(
      this.redis,
      this.base(cmd.pool),
      this.clockNow(),
      cmd.owner,
      cmd.agency,
      cmd.clientId,
      cmd.newGrantId,
      cmd.idempotencyKey ?? '',
      this.options.reapBatch,
      idemTtl,
      this.options.clock ? idemTtl + TEST_CLOCK_MEMO_SLACK_MS : idemTtl,
    );
    const result = outcomeOf(reply[0]);
    if (result.kind === 'failure') return { ok: false, failure: result.failure };
    const expired = expiredOf(cmd.pool, reply[2] ?? []);
    if (result.kind === 'granted') {
      return { ok: true, value: { outcome: result.outcome, grant: grantOf(cmd.pool, reply[1] as RawGrant), expired } };
    }
    if (result.kind === 'refusal') {
      const retry = reply[1] as number;
      return { ok: true, value: { outcome: 'refused', code: result.code, retryAfterSeconds: retry < 0 ? null : retry, expired } };
    }
    throw new Error(`grant script answered with code ${reply[0]}`);
  }

  async heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.leaseReply(pool, await heartbeatScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? ''));
  }

  async release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.leaseReply(pool, await releaseScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? ''));
  }

  async get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.leaseReply(pool, await getScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? ''));
  }

  async listByOwner(pool: string, owner: string): Promise<Grant[]> {
    const raw = await listByOwnerScript(this.redis, this.base(pool), this.clockNow(), owner);
    return raw.map((g) => grantOf(pool, g));
  }

  async bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    const reply = await bulkRenewScript(
      this.redis,
      this.base(cmd.pool),
      this.clockNow(),
      cmd.member,
      this.options.bulkRenewalGraceMs,
      cmd.ended.length,
      ...cmd.ended,
      ...cmd.active,
    );
    const result = outcomeOf(reply[0]);
    if (result.kind === 'failure') return { ok: false, failure: result.failure };
    if (result.kind !== 'ok' || reply.length !== 5) throw new Error(`bulk-renew script answered with code ${reply[0]}`);
    const [, renewed, released, expired, unknown] = reply;
    return { ok: true, value: { renewed, released, expired, unknown } };
  }

  async reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    const raw: RawExpired[] = await reapScript(this.redis, this.base(pool), this.clockNow(), limit);
    return expiredOf(pool, raw);
  }

  async snapshot(pool: string): Promise<LeaseResult<PoolSnapshot>> {
    const reply = await snapshotScript(this.redis, this.base(pool), this.clockNow());
    const result = outcomeOf(reply[0]);
    if (result.kind === 'failure') return { ok: false, failure: result.failure };
    if (result.kind !== 'ok' || reply.length !== 8) throw new Error(`snapshot script answered with code ${reply[0]}`);
    const [, at, specJson, capacity, active, free, memberCounts, agencyCounts] = reply;
    const spec = JSON.parse(specJson) as PoolSpec;
    return {
      ok: true,
      value: {
        id: spec.id,
        kind: spec.kind,
        ...(spec.name !== undefined ? { name: spec.name } : {}),
        strategy: spec.strategy,
        licenceLimit: spec.licenceLimit,
        capacity,
        active,
        free,
        perEmployeeLimit: spec.perEmployeeLimit,
        leaseTtlMs: spec.leaseTtlMs,
        members: spec.members.map((m, i) => ({
          id: m.id,
          ...(m.host !== undefined ? { host: m.host } : {}),
          state: m.state,
          maxSessions: m.maxSessions,
          active: memberCounts[i] ?? 0,
        })),
        agencies: spec.agencies.map((a, i) => ({ id: a.id, guaranteed: a.guaranteed, maximum: a.maximum, active: agencyCounts[i] ?? 0 })),
        at,
      },
    };
  }

  async now(): Promise<number> {
    if (this.options.clock) return this.options.clock();
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  private base(pool: string): string {
    return poolBase(this.options.keyPrefix, pool);
  }

  /** The injected test clock, or null: the script then reads Redis TIME. */
  private clockNow(): number | null {
    return this.options.clock ? Math.floor(this.options.clock()) : null;
  }

  private leaseReply(pool: string, reply: [number] | [number, RawGrant]): LeaseResult<Grant> {
    const result = outcomeOf(reply[0]);
    if (result.kind === 'failure') return { ok: false, failure: result.failure };
    if (result.kind !== 'ok' || reply.length !== 2) throw new Error(`lease script answered with code ${reply[0]}`);
    return { ok: true, value: grantOf(pool, reply[1]) };
  }
}
