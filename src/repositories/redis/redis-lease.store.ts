import type { Redis } from 'ioredis';
import type {
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  GrantCommand,
  GrantResult,
  MemberLease,
  PoolSnapshot,
  WaitingChange,
  WaitTicket,
} from '../../domain/grant';
import { reportedIds } from '../../domain/grant';
import { auditFields, auditFieldsOf, type AuditRecord } from '../../domain/audit';
import { applyOverrides, type PoolLayers, type PoolOverrides } from '../../domain/pool-overrides';
import { headroomView } from '../../domain/headroom';
import type { PoolSpec } from '../../domain/pool-spec';
import type { AuditPage, AuditQuery, LeaseFailure, LeaseResult, LeaseStore, LeaseStoreOptions, OperatorAudit, OverridesWrite, ReplicaSet } from '../lease-store';
import { claimKey, poolBase, poolIndexKey, poolKeys } from './keys';
import {
  bulkRenewScript,
  checkInScript,
  claimScript,
  getScript,
  grantScript,
  heartbeatScript,
  leaseLibrary,
  leaseScripts,
  leaveScript,
  listByMemberScript,
  listByOwnerScript,
  listEndingScript,
  recordFailureScript,
  nextExpiryScript,
  reapScript,
  releaseScript,
  snapshotScript,
  syncPoolScript,
  ticketScript,
} from './lease-scripts';
import { changesOf, expiredOf, grantOf, outcomeOf, ticketOf, type RawChange, type RawGrant, type RawTicket } from './script-codes';
import { registerScript, scriptModeOf, useLibrary, type ScriptMode } from './script-loader';
import { ReplicaAck, type AckReplicas } from './replica-ack';

/**
 * Idempotency memos outlive their logical TTL by this much when a test clock is
 * injected: the script decides by store time, Redis expires the key by wall time.
 */
const TEST_CLOCK_MEMO_SLACK_MS = 24 * 3600 * 1000;

/**
 * Ids of a bulk renewal handled by one script call (see bulkRenew); a larger report comes in parts.
 * In a report of 4,834 leases the longest call held Redis 14.7 ms in parts of 1,000 and 7.8 ms in
 * parts of 250, for about the same Redis time per report (41-45 ms; npm run bench:lua,
 * docs/performance.md, seventh pass).
 */
export const BULK_RENEWAL_PART = 250;

/** A write of a pool's layers that keeps losing compare-and-set races gives up after this many tries. */
const LAYER_WRITE_TRIES = 20;

export interface RedisLeaseStoreOptions extends LeaseStoreOptions {
  keyPrefix: string;
  /**
   * Confirm writes only once this many replicas have them (WAIT); 0 or unset = once the master has
   * them; 'all' = every replica that could be promoted (`replicaSet` on Sentinel, the slot table on a Cluster).
   */
  ack?: { replicas: AckReplicas; timeoutMs: number; replicaSet?: () => ReplicaSet | null };
  /** Called by close(), for what was started with the store (the Sentinel replica count). */
  onClose?: () => void;
  /**
   * How the scripts run: as Redis Functions, loaded on demand ('functions'), as EVALSHA ('eval'), or
   * functions unless the server has none or the user may not load them ('auto', the default).
   */
  scripts?: ScriptMode;
}

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
    private readonly options: RedisLeaseStoreOptions,
  ) {
    for (const script of leaseScripts) registerScript(redis, script);
    useLibrary(redis, leaseLibrary, options.scripts ?? 'auto');
    this.ack = new ReplicaAck(redis, options.ack?.replicas ?? 0, options.ack?.timeoutMs ?? 500, options.ack?.replicaSet && (() => options.ack!.replicaSet!()?.known ?? null));
  }

  private readonly ack: ReplicaAck;

  /** The config file's pools, kept written by keepPoolsWritten(). */
  private wanted = new Map<string, PoolSpec>();
  private poolsWritten = true;
  private writingPools: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * Writes the config file's pool definitions, and writes them again, until they are written,
   * whenever they go missing: at start-up before Redis (or its replicas, with min-replicas-to-write)
   * are ready, after a reconnect, and when an operation finds a configured pool missing (a node that
   * came back empty). Until then ping() fails (readiness) and operations on those pools answer
   * 503 store-unavailable, never 404 unknown-pool. Resolves once they are written.
   */
  keepPoolsWritten(specs: PoolSpec[], onError: (e: Error) => void = () => {}): Promise<void> {
    this.wanted = new Map(specs.map((s) => [s.id, s]));
    return this.rewritePools(onError);
  }

  /** Starts writing the definitions again (once at a time); see keepPoolsWritten. */
  rewritePools(onError: (e: Error) => void = () => {}): Promise<void> {
    if (this.wanted.size === 0) return Promise.resolve();
    this.poolsWritten = false;
    this.writingPools ??= new Promise<void>((resolve) => {
      const attempt = (n: number): void => {
        if (this.closed) return resolve();
        this.syncPools([...this.wanted.values()]).then(
          () => {
            this.poolsWritten = true;
            resolve();
          },
          (e: Error) => {
            onError(e);
            this.retryTimer = setTimeout(() => attempt(n + 1), Math.min(100 * 2 ** n, 2_000));
            this.retryTimer.unref();
          },
        );
      };
      attempt(0);
    }).finally(() => (this.writingPools = null));
    return this.writingPools;
  }

  /**
   * Every failure answer passes here. A configured pool the store does not know was lost with its
   * keys (a node that came back empty): write it again and answer 503 meanwhile, never 404.
   */
  private failed(pool: string, failure: LeaseFailure): { ok: false; failure: LeaseFailure } {
    if (failure === 'unknown-pool') this.missing(pool);
    return { ok: false, failure };
  }

  private missing(pool: string): null {
    if (!this.wanted.has(pool)) return null;
    void this.rewritePools();
    throw new Error(`pool ${pool} is missing from the store; its definition is being written again`);
  }

  private readonly waitingListeners = new Set<(changes: WaitingChange[]) => void>();

  async syncPools(specs: PoolSpec[]): Promise<void> {
    if (specs.length === 0) return;
    // Each pool lives in its own slot: one script per pool, then the index outside the slots.
    // The runtime overrides stay; the effective definition is the new file's with them applied.
    await Promise.all(
      specs.map(async (spec) => {
        for (let i = 0; i < LAYER_WRITE_TRIES; i++) {
          const layers = await this.readLayers(spec.id);
          const effective = applyOverrides(spec, layers?.overrides ?? {});
          const reply = await this.acked(spec.id, syncPoolScript(this.redis, this.base(spec.id), this.clockNow(), layers?.revision ?? 0, JSON.stringify(spec), '', JSON.stringify(effective)));
          const [code, , changes] = reply;
          if (outcomeOf(code).kind === 'ok') return this.emit(spec.id, changes);
        }
        throw new Error(`pool ${spec.id}: its definition kept changing while the config file was written`);
      }),
    );
    await this.redis.sadd(poolIndexKey(this.options.keyPrefix), ...specs.map((s) => s.id));
  }

  async getPoolLayers(pool: string): Promise<PoolLayers | null> {
    return (await this.readLayers(pool)) ?? this.missing(pool);
  }

  private async readLayers(pool: string): Promise<PoolLayers | null> {
    const keys = poolKeys(this.options.keyPrefix, pool);
    // Same slot, one round trip; a pool written before layers existed has its config only.
    const [[, config], [, layers]] = (await this.redis.multi().get(keys.config).hmget(keys.layers, 'spec', 'overrides', 'rev').exec()) as [
      [Error | null, string | null],
      [Error | null, (string | null)[]],
    ];
    if (config === null) return null;
    const [base, overrides, rev] = layers;
    const effective = JSON.parse(config) as PoolSpec;
    return {
      base: base ? (JSON.parse(base) as PoolSpec) : effective,
      overrides: overrides ? (JSON.parse(overrides) as PoolOverrides) : {},
      effective,
      revision: rev ? Number(rev) : 0,
    };
  }

  async setPoolOverrides(pool: string, overrides: PoolOverrides, expectedRevision: number, audit?: OperatorAudit): Promise<LeaseResult<OverridesWrite>> {
    const layers = await this.getPoolLayers(pool);
    if (!layers) return this.failed(pool, 'unknown-pool');
    if (layers.revision !== expectedRevision) return { ok: true, value: { applied: false, revision: layers.revision } };
    const effective = applyOverrides(layers.base, overrides);
    const [code, revision, changes] = await this.acked(
      pool,
      syncPoolScript(
        this.redis,
        this.base(pool),
        this.clockNow(),
        expectedRevision,
        '',
        JSON.stringify(overrides),
        JSON.stringify(effective),
        ...(audit ? auditPairs(audit) : []),
      ),
    );
    if (outcomeOf(code).kind === 'stale') return { ok: true, value: { applied: false, revision } };
    this.emit(pool, changes);
    return { ok: true, value: { applied: true, revision, effective } };
  }

  async recordMemberFailure(pool: string, member: string, reporter: string, windowMs: number): Promise<LeaseResult<number>> {
    const reply = await this.acked(pool, recordFailureScript(this.redis, this.base(pool), this.clockNow(), member, reporter, windowMs));
    const [code, reporters] = reply;
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    return { ok: true, value: reporters };
  }

  async clearMemberFailures(pool: string, member: string): Promise<void> {
    await this.acked(pool, this.redis.del(poolKeys(this.options.keyPrefix, pool).failures(member)));
  }

  async sessionsEnding(pool: string, fromMs: number, toMs: number): Promise<Grant[]> {
    const [code, grants] = await listEndingScript(this.redis, this.base(pool), this.clockNow(), fromMs, toMs);
    if (outcomeOf(code).kind !== 'ok') return [];
    return grants.map((g) => grantOf(pool, g));
  }

  async appendAudit(pool: string, entry: OperatorAudit): Promise<void> {
    const keys = poolKeys(this.options.keyPrefix, pool);
    if ((await this.redis.exists(keys.config)) === 0) return;
    await this.acked(pool, this.redis.xadd(keys.audit, '*', 't', String(await this.now()), ...auditPairs(entry)));
  }

  /*
   * Stream ids carry Redis's wall time, records their store time `t` (the same
   * in production). With a test clock the two differ, so the range is then
   * found by scanning from the start and reading `t`.
   */
  async readAudit(pool: string, q: AuditQuery): Promise<AuditPage> {
    const key = poolKeys(this.options.keyPrefix, pool).audit;
    const testClock = this.options.clock !== undefined;
    const start = q.after !== undefined ? `(${q.after}` : testClock ? '-' : String(Math.max(0, Math.floor(q.fromMs)));
    const end = testClock ? '+' : String(Math.floor(q.toMs));
    const entries = await this.redis.xrange(key, start, end, 'COUNT', Math.max(1, q.limit));
    const records: AuditRecord[] = [];
    for (const [id, flat] of entries) {
      const r = auditRecordOf(id, flat);
      const t = Number(r.t);
      if (t > q.toMs && testClock) return { records, next: null };
      if (t >= q.fromMs && t <= q.toMs && (q.agency === undefined || r.ag === q.agency)) records.push(r);
    }
    return { records, next: entries.length < Math.max(1, q.limit) ? null : entries[entries.length - 1]![0] };
  }

  async trimAudit(pool: string, olderThanMs: number): Promise<number> {
    const key = poolKeys(this.options.keyPrefix, pool).audit;
    if (!this.options.clock) return this.redis.xtrim(key, 'MINID', String(Math.floor(olderThanMs)));
    // Test clock: the first record at or after the cut, by its store time.
    for (let after = '-'; ; ) {
      const entries = await this.redis.xrange(key, after, '+', 'COUNT', 500);
      for (const [id, flat] of entries) {
        if (Number(auditRecordOf(id, flat).t) >= olderThanMs) return this.redis.xtrim(key, 'MINID', id);
      }
      if (entries.length < 500) return this.redis.xtrim(key, 'MAXLEN', 0);
      after = `(${entries[entries.length - 1]![0]}`;
    }
  }

  async claimJob(name: string, ttlMs: number): Promise<boolean> {
    const key = claimKey(this.options.keyPrefix, name);
    const claimed = (await this.redis.set(key, 'claimed', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK';
    // A claim a failover could discard would let a second replica run the job: confirm it like any write.
    if (claimed && this.ack.enabled) await this.ack.confirm(key);
    return claimed;
  }

  async completeJob(name: string, keepMs: number): Promise<void> {
    const key = claimKey(this.options.keyPrefix, name);
    await this.redis.set(key, 'done', 'PX', Math.max(1, Math.floor(keepMs)));
    if (this.ack.enabled) await this.ack.confirm(key);
  }

  async getPoolSpec(pool: string): Promise<PoolSpec | null> {
    const raw = await this.redis.get(poolKeys(this.options.keyPrefix, pool).config);
    return raw === null ? this.missing(pool) : (JSON.parse(raw) as PoolSpec);
  }

  async grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    const idemTtl = this.options.idempotencyTtlMs;
    const reply = await this.acked(cmd.pool, grantScript(
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
      cmd.priority?.class ?? '',
      cmd.priority?.rank ?? 0,
      cmd.wait ? '1' : '',
    ));
    const [code, subject, rawExpired, changes] = reply;
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(cmd.pool, result.failure);
    this.emit(cmd.pool, changes);
    const expired = expiredOf(cmd.pool, rawExpired);
    if (result.kind === 'granted') {
      return { ok: true, value: { outcome: result.outcome, grant: grantOf(cmd.pool, present('grant', code, subject) as RawGrant), expired } };
    }
    if (result.kind === 'queued') {
      return { ok: true, value: { outcome: 'queued', ticket: ticketOf(cmd.pool, present('grant', code, subject) as RawTicket), expired } };
    }
    if (result.kind === 'refusal') {
      const retry = present('grant', code, subject) as number;
      return { ok: true, value: { outcome: 'refused', code: result.code, retryAfterSeconds: retry < 0 ? null : retry, expired } };
    }
    throw new Error(`grant script answered with code ${code}`);
  }

  async heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.writingLeaseReply(pool, await this.acked(pool, heartbeatScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? '')));
  }

  async release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.writingLeaseReply(pool, await this.acked(pool, releaseScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? '')));
  }

  async get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.leaseReply(pool, await getScript(this.redis, this.base(pool), this.clockNow(), grantId, owner ?? ''));
  }

  async listByOwner(pool: string, owner: string): Promise<Grant[]> {
    const raw = await listByOwnerScript(this.redis, this.base(pool), this.clockNow(), owner);
    return raw.map((g) => grantOf(pool, g));
  }

  async listByMember(pool: string, member: string): Promise<LeaseResult<MemberLease[]>> {
    const [code, ids, expiresAts] = await listByMemberScript(this.redis, this.base(pool), this.clockNow(), member);
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`list-by-member script answered with code ${code}`);
    return { ok: true, value: ids.map((id, i) => ({ id, expiresAt: expiresAts[i]! })) };
  }

  /**
   * One script call for a report of up to BULK_RENEWAL_PART ids; a larger one in parts, one after the
   * other, so Redis serves everyone else between them: a single call for 5,000 ids held Redis for
   * 35-65 ms, and every admission of every replica waited behind it (docs/performance.md, sixth
   * pass). Each part answers the lease fields it handled; then the broker reads the member's expiry
   * index and hands the fields no part handled, the candidates for reclaiming as unreported, to
   * parts of their own, the last of which writes the report's record (bulk-renew-1.lua). An only
   * part reclaims the unreported leases itself unless there are more than a part's worth: an empty
   * report from a gateway that had held 40,000 leases held Redis for 2.1 s in one call. Between
   * parts other clients' operations interleave, as they do between two reports; a lease granted
   * after that read is younger than any grace period and is not reclaimed. A part that fails leaves
   * the earlier ones done, and the agent's next report (or its retry) renews the same sessions again.
   */
  async bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    const { ids, endedCount } = reportedIds(cmd);
    const total: BulkRenewResult = { renewed: 0, released: 0, expired: 0, unknown: [], releasedLeases: [], expiredLeases: [] };
    const part = this.options.bulkRenewalPart ?? BULK_RENEWAL_PART;
    const handled = new Set<string>();
    /** One script call: ids[from, to) and `candidates` to reclaim. Answers the failure, or whether the report goes on. */
    const call = async (mode: '1' | '2' | '', from: number, to: number, candidates: string[]): Promise<LeaseResult<BulkRenewResult> | { continues: boolean }> => {
      const endedHere = Math.max(0, Math.min(to, endedCount) - from);
      const reply = await this.acked(cmd.pool, bulkRenewScript(
        this.redis,
        this.base(cmd.pool),
        this.clockNow(),
        cmd.member,
        this.options.bulkRenewalGraceMs,
        mode,
        endedHere,
        to - from - endedHere,
        total.renewed,
        total.released,
        total.expired,
        total.unknown.length,
        mode === '1' ? part : '',
        ...ids.slice(from, to),
        ...candidates,
      ));
      const [code, renewed, released, expired, unknown, changes, releasedLeases, expiredLeases, fields, continues] = reply;
      const result = outcomeOf(code);
      if (result.kind === 'failure') return this.failed(cmd.pool, result.failure);
      if (result.kind !== 'ok') throw new Error(`bulk-renew script answered with code ${code}`);
      this.emit(cmd.pool, changes);
      for (const f of fields) handled.add(f);
      total.renewed += renewed;
      total.released += released;
      total.expired += expired;
      total.unknown.push(...unknown);
      total.releasedLeases.push(...expiredOf(cmd.pool, releasedLeases));
      total.expiredLeases.push(...expiredOf(cmd.pool, expiredLeases));
      return { continues: mode === '' || continues === 1 };
    };
    // The reported ids, a part at a time; an only part finds the unreported leases itself unless there are too many.
    for (let from = 0; from === 0 || from < ids.length; from += part) {
      const to = Math.min(from + part, ids.length);
      const r = await call(from === 0 && to === ids.length ? '1' : '', from, to, []);
      if (!('continues' in r)) return r;
      if (!r.continues) return { ok: true, value: total };
    }
    // The unreported leases: the member's index read now, less what the parts handled, a part at a time (the last writes the report's record).
    const candidates = (await this.redis.zrange(poolKeys(this.options.keyPrefix, cmd.pool).memberExpiry(cmd.member), 0, -1)).filter((f) => !handled.has(f));
    for (let from = 0; from === 0 || from < candidates.length; from += part) {
      const to = Math.min(from + part, candidates.length);
      const r = await call(to === candidates.length ? '2' : '', 0, 0, candidates.slice(from, to));
      if (!('continues' in r)) return r;
    }
    return { ok: true, value: total };
  }

  async reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    const [expired, changes] = await this.acked(pool, reapScript(this.redis, this.base(pool), this.clockNow(), limit));
    this.emit(pool, changes);
    return expiredOf(pool, expired);
  }

  async nextExpiryIn(pool: string): Promise<number | null> {
    const ms = await nextExpiryScript(this.redis, this.base(pool), this.clockNow());
    return ms < 0 ? null : ms;
  }

  async checkIn(pool: string, ticketId: string, owner: string): Promise<LeaseResult<{ ticket: WaitTicket; expired: ExpiredLease[] }>> {
    const reply = await this.acked(pool, checkInScript(this.redis, this.base(pool), this.clockNow(), ticketId, owner, this.options.reapBatch));
    const [code, ticket, expired, changes] = reply;
    const result = outcomeOf(code);
    this.emit(pool, changes);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`check-in script answered with code ${code}`);
    return { ok: true, value: { ticket: ticketOf(pool, present('check-in', code, ticket)), expired: expiredOf(pool, expired) } };
  }

  async claim(pool: string, ticketId: string, owner: string): Promise<LeaseResult<Grant>> {
    const reply = await this.acked(pool, claimScript(this.redis, this.base(pool), this.clockNow(), ticketId, owner));
    return this.writingLeaseReply(pool, reply);
  }

  async leave(pool: string, ticketId: string, owner: string): Promise<LeaseResult<null>> {
    const reply = await this.acked(pool, leaveScript(this.redis, this.base(pool), this.clockNow(), ticketId, owner));
    const [code, changes] = reply;
    const result = outcomeOf(code);
    this.emit(pool, changes);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    return { ok: true, value: null };
  }

  async getTicket(pool: string, ticketId: string, owner?: string): Promise<LeaseResult<WaitTicket>> {
    const reply = await ticketScript(this.redis, this.base(pool), this.clockNow(), ticketId, owner ?? '');
    const [code, ticket] = reply;
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`ticket script answered with code ${code}`);
    return { ok: true, value: ticketOf(pool, present('ticket', code, ticket)) };
  }

  async ticketOf(pool: string, owner: string): Promise<WaitTicket | null> {
    const reply = await ticketScript(this.redis, this.base(pool), this.clockNow(), '', owner);
    const [code, ticket] = reply;
    return outcomeOf(code).kind === 'ok' ? ticketOf(pool, present('ticket', code, ticket)) : null;
  }

  onWaitingChange(listener: (changes: WaitingChange[]) => void): () => void {
    this.waitingListeners.add(listener);
    return () => this.waitingListeners.delete(listener);
  }

  async snapshot(pool: string): Promise<LeaseResult<PoolSnapshot>> {
    const reply = await snapshotScript(this.redis, this.base(pool), this.clockNow());
    const [code, at, specJson, capacity, active, free, memberCounts, agencyCounts, waiting, offered] = reply;
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`snapshot script answered with code ${code}`);
    const spec = JSON.parse(present('snapshot', code, specJson)) as PoolSpec;
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
          ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
          ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
          ...(m.stateSince !== undefined ? { stateSince: m.stateSince } : {}),
        })),
        agencies: spec.agencies.map((a, i) => ({ id: a.id, guaranteed: a.guaranteed, maximum: a.maximum, active: agencyCounts[i] ?? 0 })),
        waiting,
        offered,
        headroom: headroomView(spec, free),
        at,
      },
    };
  }

  async now(): Promise<number> {
    if (this.options.clock) return this.options.clock();
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** How the scripts run on this store's client ('auto' until the first script call has settled it). */
  get scriptMode(): ScriptMode {
    return scriptModeOf(this.redis);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
    if (!this.poolsWritten) throw new Error('the pool definitions are not written yet');
  }

  replicas(): ReplicaSet | null {
    return this.options.ack?.replicaSet?.() ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.options.onClose?.();
    await this.redis.quit();
  }

  /**
   * A write's reply, once it is confirmed (docs/guarantees.md): with `ack.replicas` > 0 only after
   * that many replicas have it, else it throws and the caller answers 503 store-unavailable. The
   * master may still hold the write: a retry with the same Idempotency-Key finds it, or it expires.
   */
  private async acked<T>(pool: string, write: Promise<T>): Promise<T> {
    const reply = await write;
    if (this.ack.enabled) await this.ack.confirm(this.base(pool));
    return reply;
  }

  private base(pool: string): string {
    return poolBase(this.options.keyPrefix, pool);
  }

  /** The injected test clock, or null: the script then reads Redis TIME. */
  private clockNow(): number | null {
    return this.options.clock ? Math.floor(this.options.clock()) : null;
  }

  private writingLeaseReply(pool: string, [code, grant, changes]: [number, RawGrant | null, RawChange[]]): LeaseResult<Grant> {
    const result = outcomeOf(code);
    this.emit(pool, changes);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`lease script answered with code ${code}`);
    return { ok: true, value: grantOf(pool, present('lease', code, grant)) };
  }

  /** Hands a script's waiting-room changes to the listeners. */
  private emit(pool: string, raw: RawChange[] | undefined): void {
    if (!raw || raw.length === 0) return;
    const changes = changesOf(pool, raw);
    for (const l of this.waitingListeners) l(changes);
  }

  private leaseReply(pool: string, [code, grant]: [number, RawGrant | null]): LeaseResult<Grant> {
    const result = outcomeOf(code);
    if (result.kind === 'failure') return this.failed(pool, result.failure);
    if (result.kind !== 'ok') throw new Error(`lease script answered with code ${code}`);
    return { ok: true, value: grantOf(pool, present('lease', code, grant)) };
  }
}

/** The part of a fixed-shape reply its code promises; a script that broke the promise is a bug, not a refusal. */
function present<T>(script: string, code: number, part: T | null): T {
  if (part === null) throw new Error(`${script} script answered code ${code} without the part it promises`);
  return part;
}

/** An operator record's fields after `t`, as XADD takes them (src/domain/audit.ts order). */
function auditPairs(entry: OperatorAudit): string[] {
  const fields = auditFieldsOf({ t: '', ...entry });
  return auditFields.filter((f) => f !== 't').flatMap((f) => [f, fields[f]]);
}

function auditRecordOf(id: string, flat: string[]): AuditRecord {
  const r = { id, ...auditFieldsOf({ t: '', ev: 'operator' }) } as AuditRecord & Record<string, string>;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if ((auditFields as readonly string[]).includes(flat[i]!)) r[flat[i]!] = flat[i + 1]!;
  }
  return r;
}
