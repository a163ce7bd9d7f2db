import { nextFencingToken } from '../../domain/fencing';
import BTree from 'sorted-btree';
import type { AuditEntry } from '../../domain/audit';
import type {
  AgencySnapshot,
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  GrantCommand,
  GrantResult,
  MemberLease,
  MemberSnapshot,
  LeaveReason,
  PoolSnapshot,
  QueueReason,
  RefusalCode,
  WaitingChange,
  WaitTicket,
} from '../../domain/grant';
import { reportedIds } from '../../domain/grant';
import { applyOverrides, type PoolLayers, type PoolOverrides } from '../../domain/pool-overrides';
import type { MemberSpec, PoolSpec } from '../../domain/pool-spec';
import { firstExpiry, renewedExpiry } from '../../domain/session-limit';
import type { AuditPage, AuditQuery, LeaseFailure, LeaseResult, LeaseStore, LeaseStoreOptions, OperatorAudit, OverridesWrite } from '../lease-store';
import { AuditTrail } from './memory-audit-log';
import { headroomAbove, headroomView } from '../../domain/headroom';
import { MemoryWaitingRoom, type StoredTicket } from './memory-waiting-room';

/**
 * Ids of a bulk renewal handled in one step (MemoryLeaseStore.bulkRenew); a larger report comes in
 * parts with the event loop free between them. A step costs about 2-3 µs per id, so a part holds
 * other requests for 1-2 ms (parts of 1,000: ~3 ms), where a report of 5,000 ids in one step held
 * them for 10-17 ms, and one of 40,000 would hold them for about 200 ms (docs/performance.md, eighth
 * pass).
 */
export const MEMORY_BULK_RENEWAL_PART = 500;

/** Orders leases (and remembered idempotency keys) by expiry, ties by id: the order Redis sorted sets give. */
interface ExpiryKey {
  at: number;
  id: string;
}

const byExpiry = (a: ExpiryKey, b: ExpiryKey): number => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

interface Remembered {
  grantId: string;
  /** The grant exactly as first returned. */
  answer: Grant;
  until: number;
}

/**
 * Owner → the ids of their leases, in creation order. Nearly every employee holds one lease, so one
 * id is kept as itself and only a second makes a Set: a Set per owner was 60,000 Sets with their
 * hash tables at 60,000 held, for every major garbage collection to trace (docs/performance.md,
 * seventh pass).
 */
class OwnerIndex {
  private readonly byOwner = new Map<string, string | Set<string>>();

  ids(owner: string): Iterable<string> {
    const v = this.byOwner.get(owner);
    return v === undefined ? [] : typeof v === 'string' ? [v] : v;
  }

  add(owner: string, id: string): void {
    const v = this.byOwner.get(owner);
    if (v === undefined) this.byOwner.set(owner, id);
    else if (typeof v === 'string') this.byOwner.set(owner, new Set([v, id]));
    else v.add(id);
  }

  remove(owner: string, id: string): void {
    const v = this.byOwner.get(owner);
    if (v === id) this.byOwner.delete(owner);
    else if (typeof v === 'object') {
      v.delete(id);
      if (v.size === 1) this.byOwner.set(owner, v.values().next().value!);
    }
  }
}

/** Everything the store keeps for one pool. Counts are kept, not derived, so admission never scans leases. */
class PoolState {
  fence = 0;
  active = 0;
  readonly memberCounts = new Map<string, number>();
  readonly agencyCounts = new Map<string, number>();
  readonly leases = new Map<string, Grant>();
  /** Owner → grant ids in creation order. */
  readonly byOwner = new OwnerIndex();
  readonly byMember = new Map<string, Set<string>>();
  readonly expiry = new BTree<ExpiryKey, true>(undefined, byExpiry);
  readonly remembered = new Map<string, Remembered>();
  readonly rememberedExpiry = new BTree<ExpiryKey, true>(undefined, byExpiry);
  readonly room = new MemoryWaitingRoom();
  /** Append-only audit records (src/domain/audit.ts), ids `<ms>-<seq>` like a Redis Stream's. */
  readonly audit = new AuditTrail();
  /** The config file's definition (null: the same as `spec`, nothing overridden yet); `spec` is the effective one. */
  baseSpec: PoolSpec | null = null;
  overrides: PoolOverrides = {};
  /** Changes with every write of the definition layers (compare and set), as on Redis. */
  revision = 1;
  /**
   * Leases by createdAt, ties by id: sessions reaching their maximum duration. Kept only while the
   * pool has a maximum session duration, as on Redis (includes/leases.lua): built from the leases
   * when one is set, dropped when it is removed.
   */
  started: BTree<ExpiryKey, true> | null = null;
  /** Member → reporter → time of its latest failure report. */
  readonly failures = new Map<string, Map<string, number>>();

  private current: PoolSpec;

  constructor(spec: PoolSpec) {
    this.current = spec;
    this.spec = spec;
  }

  get spec(): PoolSpec {
    return this.current;
  }

  set spec(spec: PoolSpec) {
    this.current = spec;
    if (spec.maxSessionMs === undefined) this.started = null;
    else if (!this.started) {
      this.started = new BTree<ExpiryKey, true>(undefined, byExpiry);
      for (const lease of this.leases.values()) this.started.set({ at: lease.createdAt, id: lease.id }, true);
    }
  }

  memberCount(member: string): number {
    return this.memberCounts.get(member) ?? 0;
  }

  agencyCount(agency: string): number {
    return this.agencyCounts.get(agency) ?? 0;
  }
}

const ok = <T>(value: T): LeaseResult<T> => ({ ok: true, value });
const fail = <T>(failure: LeaseFailure): LeaseResult<T> => ({ ok: false, failure });
const copy = (g: Grant): Grant => ({ ...g });
const expiredOf = (g: Grant): ExpiredLease => ({ id: g.id, pool: g.pool, member: g.member, agency: g.agency, owner: g.owner });
/** Unambiguous map key for (owner, idempotency key). */
const rememberKey = (owner: string, key: string): string => `${owner.length}:${owner}${key}`;

const inc = (m: Map<string, number>, k: string, by: number): void => {
  const v = (m.get(k) ?? 0) + by;
  if (v === 0) m.delete(k);
  else m.set(k, v);
};

/**
 * The embedded lease store: the default when REDIS_URL is unset (one broker
 * replica). Implements the rules of docs/admission.md with the same observable
 * behaviour as the Redis store. Every operation runs as one synchronous
 * critical section (no `await` inside), so it is atomic on Node's single
 * thread; the result is wrapped in a resolved promise. The one exception is a
 * large bulk renewal, which runs in parts, each of them such a section.
 *
 * Leases are indexed by expiry in a B+ tree, so admission reaps the oldest
 * expired leases without scanning; counts per member and agency are kept
 * incrementally.
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly kind = 'memory' as const;
  private readonly pools = new Map<string, PoolState>();
  private readonly clock: () => number;
  /** Claimed one-off jobs → until when (wall time, like Redis key expiry). */
  private readonly jobs = new Map<string, number>();
  private readonly waitingListeners = new Set<(changes: WaitingChange[]) => void>();
  /** Waiting-room changes of the operation in progress, handed to the listeners when it ends. */
  private changes: WaitingChange[] = [];

  constructor(private readonly options: LeaseStoreOptions) {
    this.clock = options.clock ?? Date.now;
  }

  syncPools(specs: PoolSpec[]): Promise<void> {
    for (const spec of specs) {
      const state = this.pools.get(spec.id);
      if (state) {
        // The runtime overrides stay, layered over the file's new definition.
        state.baseSpec = structuredClone(spec);
        state.spec = applyOverrides(state.baseSpec, state.overrides);
        state.revision++;
        // Capacity may have been raised: offer it to the waiters in the same step.
        this.offerStep(state, this.clock());
      } else this.pools.set(spec.id, new PoolState(structuredClone(spec)));
    }
    this.flushChanges();
    return Promise.resolve();
  }

  getPoolLayers(pool: string): Promise<PoolLayers | null> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(null);
    return Promise.resolve(
      structuredClone({ base: state.baseSpec ?? state.spec, overrides: state.overrides, effective: state.spec, revision: state.revision }),
    );
  }

  setPoolOverrides(pool: string, overrides: PoolOverrides, expectedRevision: number, audit?: OperatorAudit): Promise<LeaseResult<OverridesWrite>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    if (state.revision !== expectedRevision) return Promise.resolve(ok({ applied: false as const, revision: state.revision }));
    const now = this.clock();
    state.baseSpec ??= state.spec;
    state.overrides = structuredClone(overrides);
    state.spec = applyOverrides(state.baseSpec, state.overrides);
    state.revision++;
    if (audit) this.audit(state, { t: String(now), ...audit });
    // Capacity may have been raised: offer it to the waiters in the same step.
    this.offerStep(state, now);
    this.flushChanges();
    return Promise.resolve(ok({ applied: true as const, revision: state.revision, effective: structuredClone(state.spec) }));
  }

  recordMemberFailure(pool: string, member: string, reporter: string, windowMs: number): Promise<LeaseResult<number>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    if (!state.spec.members.some((m) => m.id === member)) return Promise.resolve(fail('unknown-member'));
    const now = this.clock();
    let reports = state.failures.get(member);
    if (!reports) state.failures.set(member, (reports = new Map()));
    reports.set(reporter, now);
    for (const [who, at] of reports) if (at < now - windowMs) reports.delete(who);
    return Promise.resolve(ok(reports.size));
  }

  clearMemberFailures(pool: string, member: string): Promise<void> {
    this.pools.get(pool)?.failures.delete(member);
    return Promise.resolve();
  }

  sessionsEnding(pool: string, fromMs: number, toMs: number): Promise<Grant[]> {
    const state = this.pools.get(pool);
    const max = state?.spec.maxSessionMs;
    if (!state || max === undefined || !state.started) return Promise.resolve([]);
    const now = this.clock();
    const out: Grant[] = [];
    // createdAt in (fromMs - max, toMs - max]: the smallest possible key after the lower bound is (from - max, '').
    state.started.forRange({ at: fromMs - max, id: '\uffff' }, { at: toMs - max, id: '\uffff' }, true, (k) => {
      if (k.at <= fromMs - max) return;
      const lease = state.leases.get(k.id)!;
      if (lease.expiresAt > now) out.push(copy(lease));
    });
    return Promise.resolve(out);
  }

  appendAudit(pool: string, entry: OperatorAudit): Promise<void> {
    const state = this.pools.get(pool);
    if (state) this.audit(state, { t: String(this.clock()), ...entry });
    return Promise.resolve();
  }

  readAudit(pool: string, query: AuditQuery): Promise<AuditPage> {
    const state = this.pools.get(pool);
    return Promise.resolve(state ? state.audit.read(query) : { records: [], next: null });
  }

  trimAudit(pool: string, olderThanMs: number): Promise<number> {
    const state = this.pools.get(pool);
    return Promise.resolve(state ? state.audit.trim(olderThanMs) : 0);
  }

  claimJob(name: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.jobs.get(name);
    if (held !== undefined && held > now) return Promise.resolve(false);
    this.jobs.set(name, now + ttlMs);
    return Promise.resolve(true);
  }

  completeJob(name: string, keepMs: number): Promise<void> {
    this.jobs.set(name, Date.now() + keepMs);
    return Promise.resolve();
  }

  getPoolSpec(pool: string): Promise<PoolSpec | null> {
    const state = this.pools.get(pool);
    return Promise.resolve(state ? structuredClone(state.spec) : null);
  }

  grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    const r = this.grantNow(cmd);
    this.flushChanges();
    return Promise.resolve(r);
  }

  heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const lease = this.findLease(state, grantId, owner);
    if (!lease) return Promise.resolve(fail('grant-not-found'));
    if (lease.expiresAt <= now) {
      this.remove(state, lease);
      this.audit(state, { t: String(now), ev: 'expired', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id });
      this.offerStep(state, now);
      this.flushChanges();
      return Promise.resolve(fail('lease-expired'));
    }
    this.renew(state, lease, now);
    return Promise.resolve(ok(copy(lease)));
  }

  release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const lease = this.findLease(state, grantId, owner);
    if (!lease) return Promise.resolve(fail('grant-not-found'));
    this.remove(state, lease);
    const expired = lease.expiresAt <= now;
    this.audit(state, {
      t: String(now),
      ev: expired ? 'expired' : 'released',
      own: lease.owner,
      ag: lease.agency,
      m: lease.member,
      g: lease.id,
      d: expired ? '' : `{"via":"${owner === undefined ? 'operator' : 'owner'}"}`,
    });
    this.offerStep(state, now);
    this.flushChanges();
    return Promise.resolve(expired ? fail('lease-expired') : ok(copy(lease)));
  }

  get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const lease = this.findLease(state, grantId, owner);
    if (!lease) return Promise.resolve(fail('grant-not-found'));
    return Promise.resolve(lease.expiresAt <= this.clock() ? fail('lease-expired') : ok(copy(lease)));
  }

  listByOwner(pool: string, owner: string): Promise<Grant[]> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve([]);
    const now = this.clock();
    const out: Grant[] = [];
    for (const id of state.byOwner.ids(owner)) {
      const lease = state.leases.get(id)!;
      if (lease.expiresAt > now) out.push(copy(lease));
    }
    return Promise.resolve(out);
  }

  listByMember(pool: string, member: string): Promise<LeaseResult<MemberLease[]>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    if (!state.spec.members.some((m) => m.id === member)) return Promise.resolve(fail('unknown-member'));
    const now = this.clock();
    const live: MemberLease[] = [];
    for (const id of state.byMember.get(member) ?? []) {
      const lease = state.leases.get(id)!;
      if (lease.expiresAt > now) live.push({ id, expiresAt: lease.expiresAt });
    }
    live.sort((a, b) => byExpiry({ at: a.expiresAt, id: a.id }, { at: b.expiresAt, id: b.id }));
    return Promise.resolve(ok(live));
  }

  /**
   * A report of up to MEMORY_BULK_RENEWAL_PART ids in one step; a larger one in parts, with the
   * event loop free between them, so that a gateway's report of 40,000 sessions does not hold every
   * other request for the whole of it (docs/admission.md, "Bulk renewal"; the Redis store does the
   * same between script calls). So are the unreported leases reclaimed when there are more than a
   * part's worth: an empty report from a gateway that had held 40,000 leases blocked the broker for
   * 352 ms in one step. Each part is a critical section of its own, with its own time; the last one
   * writes the report's audit record and offers freed seats. A pool or member gone between parts
   * answers as for the first part, the earlier parts staying done.
   */
  async bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    const { ids, endedCount } = reportedIds(cmd);
    const part = this.options.bulkRenewalPart ?? MEMORY_BULK_RENEWAL_PART;
    const result: BulkRenewResult = { renewed: 0, released: 0, expired: 0, unknown: [], releasedLeases: [], expiredLeases: [] };
    const reported = new Set<string>();
    /** The start of a step: the pool and member checked (again), and the time. */
    const begin = (): { state: PoolState; now: number } | LeaseFailure => {
      const state = this.pools.get(cmd.pool);
      if (!state) return 'unknown-pool';
      if (!state.spec.members.some((m) => m.id === cmd.member)) return 'unknown-member';
      return { state, now: this.clock() };
    };
    /** A step after the first: the event loop free first. */
    const step = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return begin();
    };
    const first = begin();
    if (typeof first === 'string') return fail(first);
    let at = first;
    // The reported ids, a part at a time.
    for (let from = 0; ; from += part) {
      const to = Math.min(from + part, ids.length);
      this.renewReported(at.state, cmd.member, { ids, from, to, endedCount, reported }, result, at.now);
      if (to >= ids.length) break;
      const next = await step();
      if (typeof next === 'string') return fail(next);
      at = next;
    }
    // Then the unreported leases in expiry order, ties by id (the order their audit records are
    // written in): with the last reported part, or in parts of their own if there are more.
    const leases = [...(at.state.byMember.get(cmd.member) ?? [])].filter((id) => !reported.has(id)).map((id) => at.state.leases.get(id)!);
    const unreported = leases.sort((a, b) => byExpiry({ at: a.expiresAt, id: a.id }, { at: b.expiresAt, id: b.id })).map((l) => l.id);
    for (let from = 0; ; from += part) {
      if (unreported.length > part) {
        const next = await step();
        if (typeof next === 'string') return fail(next);
        at = next;
      }
      this.reclaimUnreported(at.state, unreported.slice(from, from + part), result, at.now);
      if (from + part >= unreported.length) break;
    }
    const { state, now } = at;
    this.audit(state, {
      t: String(now),
      ev: 'renewed',
      m: cmd.member,
      d: `{"renewed":${result.renewed},"released":${result.released},"expired":${result.expired},"unknown":${result.unknown.length}}`,
    });
    // Seats the earlier parts freed too: the audit trail reads as from a report in one step.
    this.offerStep(state, now);
    this.flushChanges();
    return ok(result);
  }

  /** Part of bulkRenew: ids[from, to) (those before `endedCount` are ended), each added to `reported`. */
  private renewReported(
    state: PoolState,
    member: string,
    part: { ids: string[]; from: number; to: number; endedCount: number; reported: Set<string> },
    result: BulkRenewResult,
    now: number,
  ): void {
    const { ids, endedCount, reported } = part;
    for (let i = part.from; i < part.to; i++) {
      const id = ids[i]!;
      reported.add(id);
      const lease = state.leases.get(id);
      if (!lease || lease.member !== member) {
        result.unknown.push(id);
      } else if (lease.expiresAt <= now) {
        this.remove(state, lease);
        this.audit(state, { t: String(now), ev: 'expired', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, d: '{"via":"agent"}' });
        result.expired++;
        result.expiredLeases.push(expiredOf(lease));
      } else if (i < endedCount) {
        this.remove(state, lease);
        this.audit(state, { t: String(now), ev: 'released', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, d: '{"via":"agent"}' });
        result.released++;
        result.releasedLeases.push(expiredOf(lease));
      } else {
        this.renew(state, lease, now);
        result.renewed++;
      }
    }
  }

  /** Part of bulkRenew: the agent no longer carries these leases; those past the grace period (and still there) are reclaimed. */
  private reclaimUnreported(state: PoolState, ids: string[], result: BulkRenewResult, now: number): void {
    for (const id of ids) {
      const lease = state.leases.get(id);
      if (lease && now - lease.createdAt >= this.options.bulkRenewalGraceMs) {
        this.remove(state, lease);
        this.audit(state, { t: String(now), ev: 'expired', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, d: '{"via":"agent"}' });
        result.expired++;
        result.expiredLeases.push(expiredOf(lease));
      }
    }
  }

  reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve([]);
    const now = this.clock();
    const expired = this.reapNow(state, limit, now);
    this.reapWaiting(state, limit, now);
    this.offerStep(state, now);
    this.flushChanges();
    return Promise.resolve(expired);
  }

  nextExpiryIn(pool: string): Promise<number | null> {
    const soonest = this.pools.get(pool)?.expiry.minKey();
    return Promise.resolve(soonest === undefined ? null : Math.max(0, soonest.at - this.clock()));
  }

  snapshot(pool: string): Promise<LeaseResult<PoolSnapshot>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const { spec } = state;
    const members: MemberSnapshot[] = spec.members.map((m) => ({
      id: m.id,
      ...(m.host !== undefined ? { host: m.host } : {}),
      state: m.state,
      maxSessions: m.maxSessions,
      active: state.memberCount(m.id),
      ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
      ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
      ...(m.stateSince !== undefined ? { stateSince: m.stateSince } : {}),
    }));
    const agencies: AgencySnapshot[] = spec.agencies.map((a) => ({
      id: a.id,
      guaranteed: a.guaranteed,
      maximum: a.maximum,
      active: state.agencyCount(a.id),
    }));
    const inService = spec.members.filter((m) => m.state === 'active');
    const inServiceMax = inService.reduce((sum, m) => sum + m.maxSessions, 0);
    return Promise.resolve(
      ok({
        id: spec.id,
        kind: spec.kind,
        ...(spec.name !== undefined ? { name: spec.name } : {}),
        strategy: spec.strategy,
        licenceLimit: spec.licenceLimit,
        capacity: spec.licenceLimit === null ? inServiceMax : Math.min(inServiceMax, spec.licenceLimit),
        active: state.active,
        free: Math.max(0, this.free(state, inService)),
        perEmployeeLimit: spec.perEmployeeLimit,
        leaseTtlMs: spec.leaseTtlMs,
        members,
        agencies,
        waiting: state.room.waiting,
        offered: state.room.offered,
        headroom: headroomView(spec, this.free(state, inService)),
        at: now,
      }),
    );
  }

  now(): Promise<number> {
    return Promise.resolve(this.clock());
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Admission, steps 1–12 of docs/admission.md, in that order. */
  private grantNow(cmd: GrantCommand): LeaseResult<GrantResult> {
    const state = this.pools.get(cmd.pool);
    if (!state) return fail('unknown-pool');
    const now = this.clock();
    const { spec } = state;
    const expired = this.reapNow(state, this.options.reapBatch, now);
    this.reapWaiting(state, this.options.reapBatch, now);
    this.offerStep(state, now);
    this.forgetExpiredKeys(state, now);

    if (cmd.idempotencyKey !== undefined) {
      const remembered = state.remembered.get(rememberKey(cmd.owner, cmd.idempotencyKey));
      if (remembered) {
        const lease = state.leases.get(remembered.grantId);
        if (lease && lease.expiresAt > now) return ok({ outcome: 'replayed', grant: copy(lease), expired });
        return ok({ outcome: 'ended', grant: copy(remembered.answer), expired });
      }
    }

    const pc = cmd.priority?.class ?? '';
    const rank = cmd.priority?.rank ?? 0;
    const refuse = (code: RefusalCode, retry: boolean): LeaseResult<GrantResult> => {
      this.audit(state, { t: String(now), ev: 'refused', own: cmd.owner, ag: cmd.agency, code, pc });
      return ok({ outcome: 'refused', code, retryAfterSeconds: retry ? spec.retryAfterSeconds : null, expired });
    };
    const room = state.room;
    const wr = spec.waitingRoom;
    /** Waits in line when asked to (or always, over the admission rate), else is refused. */
    const waitOr = (reason: QueueReason, always = false): LeaseResult<GrantResult> => {
      if (!wr || !(always || cmd.wait)) return refuse(reason as RefusalCode, true);
      if (room.waiting >= wr.maxWaiters) return refuse('waiting-room-full', true);
      const t: StoredTicket = {
        id: cmd.newGrantId,
        owner: cmd.owner,
        agency: cmd.agency,
        clientId: cmd.clientId,
        priority: { class: pc, rank },
        reason,
        joinedAt: now,
        seq: ++room.seq,
        state: 'waiting',
        checkInBy: now + wr.checkInMs,
        offer: null,
      };
      room.join(t);
      this.audit(state, { t: String(now), ev: 'queued', own: t.owner, ag: t.agency, g: t.id, pc, d: `{"reason":"${reason}"}` });
      return ok({ outcome: 'queued', ticket: room.view(spec.id, t, now), expired });
    };

    const share = spec.agencies.find((a) => a.id === cmd.agency);
    if (!share) return refuse('not-entitled', false);

    let liveOfOwner = 0;
    for (const id of state.byOwner.ids(cmd.owner)) {
      const lease = state.leases.get(id)!;
      if (lease.expiresAt <= now) continue;
      if (lease.clientId === cmd.clientId) {
        this.renew(state, lease, now);
        this.remember(state, cmd, lease, now);
        this.audit(state, { t: String(now), ev: 'reconnected', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, pc });
        return ok({ outcome: 'reconnected', grant: copy(lease), expired });
      }
      liveOfOwner++;
    }

    // 5b. Someone who already waits in this pool is answered with their ticket (one per owner and pool).
    const ticketId = room.byOwner.get(cmd.owner);
    if (ticketId !== undefined) {
      const t = room.tickets.get(ticketId)!;
      if (t.checkInBy > now) return ok({ outcome: 'queued', ticket: room.view(spec.id, t, now), expired });
      this.dropTicket(state, t, t.state === 'waiting' ? 'missed-check-in' : 'offer-expired', now);
      this.offerStep(state, now);
    }

    if (liveOfOwner >= spec.perEmployeeLimit) return refuse('employee-at-limit', false);
    if (state.agencyCount(cmd.agency) >= share.maximum) return waitOr('agency-at-maximum');

    const inService = spec.members.filter((m) => m.state === 'active');
    if (inService.length === 0) return waitOr('pool-unavailable');
    const free = this.free(state, inService);
    if (free < 1) return waitOr('pool-full');
    const reservedForOthers = this.reservedFor(state, cmd.agency);
    if (free - reservedForOthers < 1) return waitOr('capacity-reserved');
    if (free - reservedForOthers - headroomAbove(spec, rank) < 1) return waitOr('headroom-reserved');
    if (wr) {
      room.refill(wr, now);
      if (!room.hasToken(wr)) return waitOr('admission-rate', true);
      room.takeToken(wr);
    }

    const member = this.chooseMember(state, inService);
    const lease: Grant = {
      id: cmd.newGrantId,
      pool: spec.id,
      member: member.id,
      agency: cmd.agency,
      owner: cmd.owner,
      clientId: cmd.clientId,
      fencingToken: (state.fence = nextFencingToken(state.fence, now)),
      createdAt: now,
      expiresAt: firstExpiry(spec, spec.leaseTtlMs, now),
      ttlMs: spec.leaseTtlMs,
    };
    this.add(state, lease);
    this.remember(state, cmd, lease, now);
    this.audit(state, { t: String(now), ev: 'granted', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, pc, d: `{"fence":${lease.fencingToken}}` });
    return ok({ outcome: 'created', grant: copy(lease), expired });
  }

  // ---- the waiting room (docs/admission.md, "Waiting room") ---------------------------------

  checkIn(pool: string, ticketId: string, owner: string): Promise<LeaseResult<{ ticket: WaitTicket; expired: ExpiredLease[] }>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const t = this.usableTicket(state, ticketId, owner, now);
    if (!t.ok) return Promise.resolve(this.flushed(t));
    const wr = state.spec.waitingRoom;
    if (t.value.state === 'waiting' && wr) state.room.checkedIn(t.value, now + wr.checkInMs);
    const expired = this.reapNow(state, this.options.reapBatch, now);
    this.reapWaiting(state, this.options.reapBatch, now);
    this.offerStep(state, now);
    return Promise.resolve(this.flushed(ok({ ticket: state.room.view(pool, t.value, now), expired })));
  }

  claim(pool: string, ticketId: string, owner: string): Promise<LeaseResult<Grant>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    if (!state.room.tickets.has(ticketId)) {
      // A claim repeated after it succeeded answers the grant it created.
      const lease = this.findLease(state, ticketId, owner);
      return Promise.resolve(lease && lease.expiresAt > now ? ok(copy(lease)) : fail('ticket-not-found'));
    }
    const t = this.usableTicket(state, ticketId, owner, now);
    if (!t.ok) return Promise.resolve(this.flushed(t));
    if (t.value.state === 'waiting') return Promise.resolve(fail('offer-not-ready'));
    const ticket = t.value;
    const offer = ticket.offer!;
    state.room.forget(ticket);
    // The offer already counts its slot: the lease takes it over (counts stay as they are).
    this.uncount(state, offer.member, ticket.agency);
    const spec = state.spec;
    const lease: Grant = {
      id: ticket.id,
      pool,
      member: offer.member,
      agency: ticket.agency,
      owner: ticket.owner,
      clientId: ticket.clientId,
      fencingToken: (state.fence = nextFencingToken(state.fence, now)),
      createdAt: now,
      expiresAt: firstExpiry(spec, spec.leaseTtlMs, now),
      ttlMs: spec.leaseTtlMs,
    };
    this.add(state, lease);
    this.audit(state, { t: String(now), ev: 'claimed', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, pc: ticket.priority.class, d: `{"fence":${lease.fencingToken}}` });
    return Promise.resolve(ok(copy(lease)));
  }

  leave(pool: string, ticketId: string, owner: string): Promise<LeaseResult<null>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const t = this.usableTicket(state, ticketId, owner, now);
    if (!t.ok) return Promise.resolve(this.flushed(t));
    if (t.value.state === 'waiting') {
      this.dropTicket(state, t.value, 'left', now);
    } else {
      this.dropTicket(state, t.value, 'declined', now);
      this.offerStep(state, now);
    }
    return Promise.resolve(this.flushed(ok(null)));
  }

  getTicket(pool: string, ticketId: string, owner?: string): Promise<LeaseResult<WaitTicket>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const t = state.room.tickets.get(ticketId);
    if (!t || (owner !== undefined && t.owner !== owner)) return Promise.resolve(fail('ticket-not-found'));
    if (t.checkInBy <= now) return Promise.resolve(fail(t.state === 'waiting' ? 'ticket-not-found' : 'offer-expired'));
    return Promise.resolve(ok(state.room.view(pool, t, now)));
  }

  ticketOf(pool: string, owner: string): Promise<WaitTicket | null> {
    const state = this.pools.get(pool);
    const id = state?.room.byOwner.get(owner);
    if (!state || id === undefined) return Promise.resolve(null);
    const now = this.clock();
    const t = state.room.tickets.get(id)!;
    return Promise.resolve(t.checkInBy > now ? state.room.view(pool, t, now) : null);
  }

  onWaitingChange(listener: (changes: WaitingChange[]) => void): () => void {
    this.waitingListeners.add(listener);
    return () => this.waitingListeners.delete(listener);
  }

  /**
   * The owner's ticket, if it is still good: a waiting ticket past its check-in
   * deadline is dropped now ('ticket-not-found'), an offer past its claim window
   * is reclaimed now ('offer-expired') and its slot offered to the next.
   */
  private usableTicket(state: PoolState, ticketId: string, owner: string, now: number): LeaseResult<StoredTicket> {
    const t = state.room.tickets.get(ticketId);
    if (!t || t.owner !== owner) return fail('ticket-not-found');
    if (t.checkInBy > now) return ok(t);
    const waiting = t.state === 'waiting';
    this.dropTicket(state, t, waiting ? 'missed-check-in' : 'offer-expired', now);
    this.offerStep(state, now);
    return fail(waiting ? 'ticket-not-found' : 'offer-expired');
  }

  /**
   * The offer step: while a slot is free (and the admission rate allows), the
   * first waiter in line order (rank, then arrival) whom the admission rules
   * admit gets an offer holding a slot for the claim window. Waiters past their
   * check-in deadline, or no longer admissible at all, drop out on the way.
   */
  private offerStep(state: PoolState, now: number): void {
    const { room, spec } = state;
    const wr = spec.waitingRoom;
    if (!wr || room.waiting === 0) return;
    room.refill(wr, now);
    for (;;) {
      const inService = spec.members.filter((m) => m.state === 'active');
      if (inService.length === 0) return;
      const free = this.free(state, inService);
      if (free < 1 || !room.hasToken(wr)) return;
      let chosen: StoredTicket | undefined;
      let dropped = false;
      for (const t of room.heads()) {
        const share = spec.agencies.find((a) => a.id === t.agency);
        const reason: LeaveReason | null =
          t.checkInBy <= now ? 'missed-check-in' : !share ? 'not-entitled' : this.liveOf(state, t.owner, now) >= spec.perEmployeeLimit ? 'employee-at-limit' : null;
        if (reason) {
          this.dropTicket(state, t, reason, now);
          dropped = true;
          break;
        }
        if (state.agencyCount(t.agency) >= share!.maximum) continue;
        const reserved = this.reservedFor(state, t.agency);
        if (free - reserved < 1 || free - reserved - headroomAbove(spec, t.priority.rank) < 1) continue;
        chosen = t;
        break;
      }
      if (dropped) continue;
      if (!chosen) return;
      const member = this.chooseMember(state, inService);
      this.count(state, member.id, chosen.agency);
      room.markOffered(chosen, member.id, now + wr.claimWindowMs);
      room.takeToken(wr);
      room.noteOffer(now);
      this.audit(state, {
        t: String(now),
        ev: 'offered',
        own: chosen.owner,
        ag: chosen.agency,
        m: member.id,
        g: chosen.id,
        pc: chosen.priority.class,
        d: `{"until":${chosen.offer!.until}}`,
      });
      this.changes.push({ kind: 'offered', ticket: room.view(spec.id, chosen, now) });
    }
  }

  /** Reclaims up to `limit` offers past their claim window, then drops up to `limit` waiters past their check-in deadline. */
  private reapWaiting(state: PoolState, limit: number, now: number): void {
    const { room } = state;
    for (const id of room.due(room.offers, now, limit)) this.dropTicket(state, room.tickets.get(id)!, 'offer-expired', now);
    for (const id of room.due(room.checkIns, now, limit)) this.dropTicket(state, room.tickets.get(id)!, 'missed-check-in', now);
  }

  /** Takes a ticket out of the waiting room; an offer's slot is returned. */
  private dropTicket(state: PoolState, t: StoredTicket, reason: LeaveReason, now: number): void {
    state.room.forget(t);
    const base = { t: String(now), own: t.owner, ag: t.agency, g: t.id, pc: t.priority.class };
    if (t.offer) {
      this.uncount(state, t.offer.member, t.agency);
      if (reason === 'offer-expired') this.audit(state, { ...base, ev: 'offer-expired', m: t.offer.member });
      else this.audit(state, { ...base, ev: 'left-queue', m: t.offer.member, d: `{"reason":"${reason}"}` });
    } else {
      this.audit(state, { ...base, ev: 'left-queue', d: `{"reason":"${reason}"}` });
    }
    this.changes.push({ kind: 'left', pool: state.spec.id, ticketId: t.id, owner: t.owner, reason });
  }

  /** Σ over other agencies of their unused guarantee (rule 10). */
  private reservedFor(state: PoolState, agency: string): number {
    let reserved = 0;
    for (const b of state.spec.agencies) {
      if (b.id !== agency) reserved += Math.max(0, b.guaranteed - state.agencyCount(b.id));
    }
    return reserved;
  }

  private liveOf(state: PoolState, owner: string, now: number): number {
    let n = 0;
    for (const id of state.byOwner.ids(owner)) if (state.leases.get(id)!.expiresAt > now) n++;
    return n;
  }

  /** An offered slot: counted like a lease, held by no lease. */
  private count(state: PoolState, member: string, agency: string): void {
    state.active++;
    inc(state.memberCounts, member, 1);
    inc(state.agencyCounts, agency, 1);
  }

  private uncount(state: PoolState, member: string, agency: string): void {
    state.active--;
    inc(state.memberCounts, member, -1);
    inc(state.agencyCounts, agency, -1);
  }

  private audit(state: PoolState, e: AuditEntry): void {
    state.audit.append(e);
  }

  private flushChanges(): void {
    if (this.changes.length === 0) return;
    const changes = this.changes;
    this.changes = [];
    for (const l of this.waitingListeners) l(changes);
  }

  private flushed<T>(r: T): T {
    this.flushChanges();
    return r;
  }

  /** `free` of docs/admission.md: may be negative after a licence limit was lowered. */
  private free(state: PoolState, inService: MemberSpec[]): number {
    let memberFree = 0;
    for (const m of inService) memberFree += Math.max(0, m.maxSessions - state.memberCount(m.id));
    const licenceLimit = state.spec.licenceLimit;
    return licenceLimit === null ? memberFree : Math.min(memberFree, licenceLimit - state.active);
  }

  /** Rule 11. Callers have checked that some in-service member has room. */
  private chooseMember(state: PoolState, inService: MemberSpec[]): MemberSpec {
    let best: MemberSpec | undefined;
    let bestCount = 0;
    for (const m of inService) {
      const count = state.memberCount(m.id);
      if (count >= m.maxSessions) continue;
      if (state.spec.strategy === 'depth-first') return m;
      // Compare count/max by cross-multiplying: exact in integers, no rounding ties.
      const load = count * (best?.maxSessions ?? 1);
      const bestLoad = bestCount * m.maxSessions;
      if (!best || load < bestLoad || (load === bestLoad && count < bestCount)) {
        best = m;
        bestCount = count;
      }
    }
    return best!;
  }

  private findLease(state: PoolState, grantId: string, owner: string | undefined): Grant | undefined {
    const lease = state.leases.get(grantId);
    return lease && (owner === undefined || lease.owner === owner) ? lease : undefined;
  }

  private remember(state: PoolState, cmd: GrantCommand, lease: Grant, now: number): void {
    if (cmd.idempotencyKey === undefined) return;
    const key = rememberKey(cmd.owner, cmd.idempotencyKey);
    const until = now + this.options.idempotencyTtlMs;
    state.remembered.set(key, { grantId: lease.id, answer: copy(lease), until });
    state.rememberedExpiry.set({ at: until, id: key }, true);
  }

  /** Keeps memory bounded: drops every remembered key whose time is up. */
  private forgetExpiredKeys(state: PoolState, now: number): void {
    for (let k = state.rememberedExpiry.minKey(); k !== undefined && k.at <= now; k = state.rememberedExpiry.minKey()) {
      state.rememberedExpiry.delete(k);
      // The same key may have been remembered again later (after it expired); only drop the entry this index row belongs to.
      if (state.remembered.get(k.id)?.until === k.at) state.remembered.delete(k.id);
    }
  }

  private reapNow(state: PoolState, limit: number, now: number): ExpiredLease[] {
    const out: ExpiredLease[] = [];
    while (out.length < limit) {
      const k = state.expiry.minKey();
      if (k === undefined || k.at > now) break;
      const lease = state.leases.get(k.id)!;
      this.remove(state, lease);
      this.audit(state, { t: String(now), ev: 'expired', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id });
      out.push(expiredOf(lease));
    }
    return out;
  }

  private renew(state: PoolState, lease: Grant, now: number): void {
    state.expiry.delete({ at: lease.expiresAt, id: lease.id });
    lease.expiresAt = renewedExpiry(state.spec, lease, now);
    state.expiry.set({ at: lease.expiresAt, id: lease.id }, true);
  }

  private add(state: PoolState, lease: Grant): void {
    state.leases.set(lease.id, lease);
    state.expiry.set({ at: lease.expiresAt, id: lease.id }, true);
    state.started?.set({ at: lease.createdAt, id: lease.id }, true);
    state.byOwner.add(lease.owner, lease.id);
    let onMember = state.byMember.get(lease.member);
    if (!onMember) state.byMember.set(lease.member, (onMember = new Set()));
    onMember.add(lease.id);
    state.active++;
    inc(state.memberCounts, lease.member, 1);
    inc(state.agencyCounts, lease.agency, 1);
  }

  private remove(state: PoolState, lease: Grant): void {
    state.leases.delete(lease.id);
    state.expiry.delete({ at: lease.expiresAt, id: lease.id });
    state.started?.delete({ at: lease.createdAt, id: lease.id });
    state.byOwner.remove(lease.owner, lease.id);
    const onMember = state.byMember.get(lease.member)!;
    onMember.delete(lease.id);
    if (onMember.size === 0) state.byMember.delete(lease.member);
    state.active--;
    inc(state.memberCounts, lease.member, -1);
    inc(state.agencyCounts, lease.agency, -1);
  }
}
