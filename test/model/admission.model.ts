/**
 * A reference model of docs/admission.md: the rules restated as plainly as
 * possible, with no indexes and no kept counts. Every figure is recomputed
 * from the list of leases each time; slow on purpose, so that it is easy to
 * check by reading. Property tests run the same commands against a real
 * store and this model and expect the same answers.
 *
 * Time is an explicit argument of every method (the store's `now`).
 */
import { nextFencingToken } from '../../src/domain/fencing';
import { auditFieldsOf, type AuditEntry, type AuditFields } from '../../src/domain/audit';
import type {
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  MemberLease,
  GrantCommand,
  GrantResult,
  LeaveReason,
  PoolSnapshot,
  Priority,
  QueueReason,
  RefusalCode,
  WaitingChange,
  WaitTicket,
} from '../../src/domain/grant';
import type { PoolSpec } from '../../src/domain/pool-spec';
import type { LeaseResult } from '../../src/repositories/lease-store';

export interface ModelOptions {
  reapBatch: number;
  bulkRenewalGraceMs: number;
  idempotencyTtlMs: number;
}

interface RememberedKey {
  owner: string;
  key: string;
  grantId: string;
  answer: Grant;
  rememberedAt: number;
}

interface ModelTicket {
  id: string;
  owner: string;
  agency: string;
  clientId: string;
  priority: Priority;
  reason: QueueReason;
  joinedAt: number;
  seq: number;
  state: 'waiting' | 'offered';
  checkInBy: number;
  offer: { member: string; until: number } | null;
}

interface ModelPool {
  spec: PoolSpec;
  fence: number;
  /** Every stored lease, live or expired-not-yet-reclaimed, in creation order. */
  leases: Grant[];
  keys: RememberedKey[];
  /** Waiting and offered tickets. */
  tickets: ModelTicket[];
  seq: number;
  /** Admission-rate bucket in thousandths of an admission (null: full, never used). */
  tokens: number | null;
  tokensAt: number;
  /** Store times of the offers made. */
  offerTimes: number[];
  audit: AuditFields[];
}

const clone = <T>(x: T): T => structuredClone(x);

export class AdmissionModel {
  readonly pools = new Map<string, ModelPool>();
  /** Waiting-room changes since the last takeChanges(). */
  private changes: WaitingChange[] = [];

  constructor(readonly options: ModelOptions) {}

  syncPools(specs: PoolSpec[], now = 0): void {
    for (const spec of specs) {
      const pool = this.pools.get(spec.id);
      if (pool) {
        pool.spec = clone(spec);
        this.offerStep(pool, now);
      } else {
        this.pools.set(spec.id, { spec: clone(spec), fence: 0, leases: [], keys: [], tickets: [], seq: 0, tokens: null, tokensAt: 0, offerTimes: [], audit: [] });
      }
    }
  }

  /** The waiting-room changes made since the last call. */
  takeChanges(): WaitingChange[] {
    const c = this.changes;
    this.changes = [];
    return c;
  }

  auditOf(pool: string): AuditFields[] {
    return clone(this.pools.get(pool)?.audit ?? []);
  }

  getPoolSpec(pool: string): PoolSpec | null {
    const p = this.pools.get(pool);
    return p ? clone(p.spec) : null;
  }

  // ---- the figures of "Terms" --------------------------------------------------------------

  /** Maximum session duration: a renewal gives the lease's own TTL from now, but never past createdAt + maxSessionMs, and never shortens it. */
  renewedExpiry(p: ModelPool, l: Grant, now: number): number {
    const byTtl = now + l.ttlMs;
    const byMax = p.spec.maxSessionMs === undefined ? Infinity : l.createdAt + p.spec.maxSessionMs;
    return Math.max(l.expiresAt, Math.min(byTtl, byMax));
  }

  isLive(lease: Grant, now: number): boolean {
    return lease.expiresAt > now;
  }

  /** Offers hold slots like leases: they count everywhere a lease counts. */
  offers(p: ModelPool): ModelTicket[] {
    return p.tickets.filter((t) => t.state === 'offered');
  }

  countMember(p: ModelPool, member: string): number {
    return p.leases.filter((l) => l.member === member).length + this.offers(p).filter((t) => t.offer!.member === member).length;
  }

  countAgency(p: ModelPool, agency: string): number {
    return p.leases.filter((l) => l.agency === agency).length + this.offers(p).filter((t) => t.agency === agency).length;
  }

  countAll(p: ModelPool): number {
    return p.leases.length + this.offers(p).length;
  }

  inService(p: ModelPool) {
    return p.spec.members.filter((m) => m.state === 'active');
  }

  memberFree(p: ModelPool): number {
    let sum = 0;
    for (const m of this.inService(p)) sum += Math.max(0, m.maxSessions - this.countMember(p, m.id));
    return sum;
  }

  licenceFree(p: ModelPool): number {
    return p.spec.licenceLimit === null ? Infinity : p.spec.licenceLimit - this.countAll(p);
  }

  free(p: ModelPool): number {
    return Math.min(this.memberFree(p), this.licenceFree(p));
  }

  capacity(p: ModelPool): number {
    let sum = 0;
    for (const m of this.inService(p)) sum += m.maxSessions;
    return p.spec.licenceLimit === null ? sum : Math.min(sum, p.spec.licenceLimit);
  }

  unusedGuarantee(p: ModelPool, agency: string): number {
    const share = p.spec.agencies.find((a) => a.id === agency);
    return share ? Math.max(0, share.guaranteed - this.countAgency(p, agency)) : 0;
  }

  // ---- operations --------------------------------------------------------------------------

  /** Reclaims up to `limit` expired leases (then offers and waiters whose time is up), and makes the offers due. */
  reap(pool: string, limit: number, now: number): ExpiredLease[] {
    const p = this.pools.get(pool);
    if (!p) return [];
    const expired = this.reapLeases(p, limit, now);
    this.reapWaiting(p, limit, now);
    this.offerStep(p, now);
    return expired;
  }

  /** Milliseconds until the soonest lease expires (0: due now); null without leases or for an unknown pool. */
  nextExpiryIn(pool: string, now: number): number | null {
    const leases = this.pools.get(pool)?.leases ?? [];
    if (leases.length === 0) return null;
    return Math.max(0, Math.min(...leases.map((l) => l.expiresAt)) - now);
  }

  /** Reclaims up to `limit` expired leases, oldest expiry first, ties by grant id. */
  private reapLeases(p: ModelPool, limit: number, now: number): ExpiredLease[] {
    const expired = p.leases
      .filter((l) => !this.isLive(l, now))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, Math.max(0, limit));
    for (const l of expired) {
      this.drop(p, l.id);
      this.record(p, { t: String(now), ev: 'expired', own: l.owner, ag: l.agency, m: l.member, g: l.id });
    }
    return expired.map((l) => ({ id: l.id, pool: l.pool, member: l.member, agency: l.agency, owner: l.owner }));
  }

  grant(cmd: GrantCommand, now: number): LeaseResult<GrantResult> {
    // 1
    const p = this.pools.get(cmd.pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const spec = p.spec;
    // 2
    const expired = this.reapLeases(p, this.options.reapBatch, now);
    this.reapWaiting(p, this.options.reapBatch, now);
    this.offerStep(p, now);
    // 3
    p.keys = p.keys.filter((k) => now < k.rememberedAt + this.options.idempotencyTtlMs);
    if (cmd.idempotencyKey !== undefined) {
      const remembered = p.keys.find((k) => k.owner === cmd.owner && k.key === cmd.idempotencyKey);
      if (remembered) {
        const current = p.leases.find((l) => l.id === remembered.grantId);
        if (current && this.isLive(current, now)) return { ok: true, value: { outcome: 'replayed', grant: clone(current), expired } };
        return { ok: true, value: { outcome: 'ended', grant: clone(remembered.answer), expired } };
      }
    }
    const pc = cmd.priority?.class ?? '';
    const rank = cmd.priority?.rank ?? 0;
    const refused = (code: RefusalCode): LeaseResult<GrantResult> => {
      this.record(p, { t: String(now), ev: 'refused', own: cmd.owner, ag: cmd.agency, code, pc });
      return {
        ok: true,
        value: {
          outcome: 'refused',
          code,
          retryAfterSeconds: ['not-entitled', 'employee-at-limit'].includes(code) ? null : spec.retryAfterSeconds,
          expired,
        },
      };
    };
    const wr = spec.waitingRoom;
    /** Capacity refusals wait in line when asked to; over the admission rate a request always waits. */
    const waitOr = (reason: QueueReason, always = false): LeaseResult<GrantResult> => {
      if (!wr || !(always || cmd.wait)) return refused(reason as RefusalCode);
      if (this.waiting(p).length >= wr.maxWaiters) return refused('waiting-room-full');
      p.seq += 1;
      const t: ModelTicket = {
        id: cmd.newGrantId,
        owner: cmd.owner,
        agency: cmd.agency,
        clientId: cmd.clientId,
        priority: { class: pc, rank },
        reason,
        joinedAt: now,
        seq: p.seq,
        state: 'waiting',
        checkInBy: now + wr.checkInMs,
        offer: null,
      };
      p.tickets.push(t);
      this.record(p, { t: String(now), ev: 'queued', own: t.owner, ag: t.agency, g: t.id, pc, d: `{"reason":"${reason}"}` });
      return { ok: true, value: { outcome: 'queued', ticket: this.view(p, t, now), expired } };
    };
    // 4
    const share = spec.agencies.find((a) => a.id === cmd.agency);
    if (!share) return refused('not-entitled');
    // 5
    const ownLive = p.leases.filter((l) => l.owner === cmd.owner && this.isLive(l, now));
    const same = ownLive.find((l) => l.clientId === cmd.clientId);
    if (same) {
      same.expiresAt = this.renewedExpiry(p, same, now);
      this.rememberKey(p, cmd, same, now);
      this.record(p, { t: String(now), ev: 'reconnected', own: same.owner, ag: same.agency, m: same.member, g: same.id, pc });
      return { ok: true, value: { outcome: 'reconnected', grant: clone(same), expired } };
    }
    // 5b: the owner's ticket, if still good; else it goes (and what it held is offered on)
    const mine = p.tickets.find((t) => t.owner === cmd.owner);
    if (mine) {
      if (mine.checkInBy > now) return { ok: true, value: { outcome: 'queued', ticket: this.view(p, mine, now), expired } };
      this.dropTicket(p, mine, mine.state === 'waiting' ? 'missed-check-in' : 'offer-expired', now);
      this.offerStep(p, now);
    }
    // 6
    if (ownLive.length >= spec.perEmployeeLimit) return refused('employee-at-limit');
    // 7
    if (this.countAgency(p, cmd.agency) >= share.maximum) return waitOr('agency-at-maximum');
    // 8
    if (this.inService(p).length === 0) return waitOr('pool-unavailable');
    // 9
    const free = this.free(p);
    if (free < 1) return waitOr('pool-full');
    // 10
    const others = this.reservedFor(p, cmd.agency);
    if (free - others < 1) return waitOr('capacity-reserved');
    // 10a
    if (free - others - this.headroomAbove(p, rank) < 1) return waitOr('headroom-reserved');
    // 10b
    if (wr) {
      this.refill(p, now);
      if (!this.hasToken(p)) return waitOr('admission-rate', true);
      if (wr.admissionsPerSecond !== null) p.tokens! -= 1000;
    }
    // 11
    const member = this.chooseMember(p);
    // 12
    p.fence = nextFencingToken(p.fence, now);
    const lease: Grant = {
      id: cmd.newGrantId,
      pool: cmd.pool,
      member: member.id,
      agency: cmd.agency,
      owner: cmd.owner,
      clientId: cmd.clientId,
      fencingToken: p.fence,
      createdAt: now,
      expiresAt: now + Math.min(spec.leaseTtlMs, spec.maxSessionMs ?? Infinity),
      ttlMs: spec.leaseTtlMs,
    };
    p.leases.push(lease);
    this.rememberKey(p, cmd, lease, now);
    this.record(p, { t: String(now), ev: 'granted', own: lease.owner, ag: lease.agency, m: lease.member, g: lease.id, pc, d: `{"fence":${lease.fencingToken}}` });
    return { ok: true, value: { outcome: 'created', grant: clone(lease), expired } };
  }

  heartbeat(pool: string, grantId: string, owner: string | undefined, now: number): LeaseResult<Grant> {
    return this.touch(pool, grantId, owner, now, (p, l) => {
      l.expiresAt = this.renewedExpiry(p, l, now);
      return clone(l);
    });
  }

  release(pool: string, grantId: string, owner: string | undefined, now: number): LeaseResult<Grant> {
    return this.touch(pool, grantId, owner, now, (p, l) => {
      this.drop(p, l.id);
      this.record(p, { t: String(now), ev: 'released', own: l.owner, ag: l.agency, m: l.member, g: l.id, d: `{"via":"${owner === undefined ? 'operator' : 'owner'}"}` });
      this.offerStep(p, now);
      return clone(l);
    });
  }

  get(pool: string, grantId: string, owner: string | undefined, now: number): LeaseResult<Grant> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const l = p.leases.find((x) => x.id === grantId && (owner === undefined || x.owner === owner));
    if (!l) return { ok: false, failure: 'grant-not-found' };
    if (!this.isLive(l, now)) return { ok: false, failure: 'lease-expired' };
    return { ok: true, value: clone(l) };
  }

  listByOwner(pool: string, owner: string, now: number): Grant[] {
    const p = this.pools.get(pool);
    if (!p) return [];
    return p.leases
      .filter((l) => l.owner === owner && this.isLive(l, now))
      .sort((a, b) => a.fencingToken - b.fencingToken)
      .map(clone);
  }

  /** Live leases of a member: id and expiry, soonest expiry first, ties by id (a plain scan). */
  listByMember(pool: string, member: string, now: number): LeaseResult<MemberLease[]> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    if (!p.spec.members.some((m) => m.id === member)) return { ok: false, failure: 'unknown-member' };
    const live = p.leases.filter((l) => l.member === member && this.isLive(l, now)).map((l) => ({ id: l.id, expiresAt: l.expiresAt }));
    return { ok: true, value: live.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  }

  bulkRenew(cmd: BulkRenewCommand, now: number): LeaseResult<BulkRenewResult> {
    const p = this.pools.get(cmd.pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    if (!p.spec.members.some((m) => m.id === cmd.member)) return { ok: false, failure: 'unknown-member' };
    const result: BulkRenewResult = { renewed: 0, released: 0, expired: 0, unknown: [], releasedLeases: [], expiredLeases: [] };
    const what = (l: Grant): ExpiredLease => ({ id: l.id, pool: l.pool, member: l.member, agency: l.agency, owner: l.owner });
    const reported: string[] = [];
    const reports = [...cmd.ended.map((id) => ({ id, ended: true })), ...cmd.active.map((id) => ({ id, ended: false }))];
    for (const { id, ended } of reports) {
      if (reported.includes(id)) continue;
      reported.push(id);
      const l = p.leases.find((x) => x.id === id && x.member === cmd.member);
      if (!l) result.unknown.push(id);
      else if (!this.isLive(l, now)) {
        this.drop(p, id);
        this.record(p, { t: String(now), ev: 'expired', own: l.owner, ag: l.agency, m: l.member, g: l.id, d: '{"via":"agent"}' });
        result.expired += 1;
        result.expiredLeases.push(what(l));
      } else if (ended) {
        this.drop(p, id);
        this.record(p, { t: String(now), ev: 'released', own: l.owner, ag: l.agency, m: l.member, g: l.id, d: '{"via":"agent"}' });
        result.released += 1;
        result.releasedLeases.push(what(l));
      } else {
        l.expiresAt = this.renewedExpiry(p, l, now);
        result.renewed += 1;
      }
    }
    // In expiry order, ties by id (the order their audit records are written in).
    const unreportedOld = p.leases
      .filter((l) => l.member === cmd.member && !reported.includes(l.id) && now - l.createdAt >= this.options.bulkRenewalGraceMs)
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const l of unreportedOld) {
      this.drop(p, l.id);
      this.record(p, { t: String(now), ev: 'expired', own: l.owner, ag: l.agency, m: l.member, g: l.id, d: '{"via":"agent"}' });
      result.expired += 1;
      result.expiredLeases.push(what(l));
    }
    this.record(p, {
      t: String(now),
      ev: 'renewed',
      m: cmd.member,
      d: `{"renewed":${result.renewed},"released":${result.released},"expired":${result.expired},"unknown":${result.unknown.length}}`,
    });
    this.offerStep(p, now);
    return { ok: true, value: result };
  }

  snapshot(pool: string, now: number): LeaseResult<PoolSnapshot> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const s = p.spec;
    return {
      ok: true,
      value: {
        id: s.id,
        kind: s.kind,
        ...(s.name !== undefined ? { name: s.name } : {}),
        strategy: s.strategy,
        licenceLimit: s.licenceLimit,
        capacity: this.capacity(p),
        active: this.countAll(p),
        free: Math.max(0, this.free(p)),
        perEmployeeLimit: s.perEmployeeLimit,
        leaseTtlMs: s.leaseTtlMs,
        members: s.members.map((m) => ({
          id: m.id,
          ...(m.host !== undefined ? { host: m.host } : {}),
          state: m.state,
          maxSessions: m.maxSessions,
          active: this.countMember(p, m.id),
          ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
          ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
          ...(m.stateSince !== undefined ? { stateSince: m.stateSince } : {}),
        })),
        agencies: s.agencies.map((a) => ({ id: a.id, guaranteed: a.guaranteed, maximum: a.maximum, active: this.countAgency(p, a.id) })),
        waiting: this.waiting(p).length,
        offered: this.offers(p).length,
        headroom: this.headroomView(p),
        at: now,
      },
    };
  }

  // ---- the waiting room --------------------------------------------------------------------

  checkIn(pool: string, ticketId: string, owner: string, now: number): LeaseResult<{ ticket: WaitTicket; expired: ExpiredLease[] }> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const t = this.usable(p, ticketId, owner, now);
    if (!t.ok) return t;
    if (t.value.state === 'waiting' && p.spec.waitingRoom) t.value.checkInBy = now + p.spec.waitingRoom.checkInMs;
    const expired = this.reapLeases(p, this.options.reapBatch, now);
    this.reapWaiting(p, this.options.reapBatch, now);
    this.offerStep(p, now);
    return { ok: true, value: { ticket: this.view(p, t.value, now), expired } };
  }

  claim(pool: string, ticketId: string, owner: string, now: number): LeaseResult<Grant> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    if (!p.tickets.some((t) => t.id === ticketId)) {
      const l = p.leases.find((x) => x.id === ticketId && x.owner === owner);
      return l && this.isLive(l, now) ? { ok: true, value: clone(l) } : { ok: false, failure: 'ticket-not-found' };
    }
    const r = this.usable(p, ticketId, owner, now);
    if (!r.ok) return r;
    const t = r.value;
    if (t.state === 'waiting') return { ok: false, failure: 'offer-not-ready' };
    p.tickets = p.tickets.filter((x) => x !== t);
    p.fence = nextFencingToken(p.fence, now);
    const lease: Grant = {
      id: t.id,
      pool,
      member: t.offer!.member,
      agency: t.agency,
      owner: t.owner,
      clientId: t.clientId,
      fencingToken: p.fence,
      createdAt: now,
      expiresAt: now + Math.min(p.spec.leaseTtlMs, p.spec.maxSessionMs ?? Infinity),
      ttlMs: p.spec.leaseTtlMs,
    };
    p.leases.push(lease);
    this.record(p, { t: String(now), ev: 'claimed', own: t.owner, ag: t.agency, m: lease.member, g: t.id, pc: t.priority.class, d: `{"fence":${p.fence}}` });
    return { ok: true, value: clone(lease) };
  }

  leave(pool: string, ticketId: string, owner: string, now: number): LeaseResult<null> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const r = this.usable(p, ticketId, owner, now);
    if (!r.ok) return r;
    if (r.value.state === 'waiting') this.dropTicket(p, r.value, 'left', now);
    else {
      this.dropTicket(p, r.value, 'declined', now);
      this.offerStep(p, now);
    }
    return { ok: true, value: null };
  }

  getTicket(pool: string, ticketId: string, owner: string | undefined, now: number): LeaseResult<WaitTicket> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const t = p.tickets.find((x) => x.id === ticketId && (owner === undefined || x.owner === owner));
    if (!t) return { ok: false, failure: 'ticket-not-found' };
    if (t.checkInBy <= now) return { ok: false, failure: t.state === 'waiting' ? 'ticket-not-found' : 'offer-expired' };
    return { ok: true, value: this.view(p, t, now) };
  }

  ticketOf(pool: string, owner: string, now: number): WaitTicket | null {
    const p = this.pools.get(pool);
    const t = p?.tickets.find((x) => x.owner === owner);
    return p && t && t.checkInBy > now ? this.view(p, t, now) : null;
  }

  auditTrail(pool: string): AuditFields[] {
    return this.auditOf(pool);
  }

  waiting(p: ModelPool): ModelTicket[] {
    return p.tickets.filter((t) => t.state === 'waiting');
  }

  /**
   * Whether the pool's admission-rate bucket held an admission when it was last refilled
   * (always, without a cap or before its first use). Property tests read it to tell an idle
   * slot that the rate cap holds back from one the offer step missed.
   */
  hasAdmissionToken(pool: string): boolean {
    const p = this.pools.get(pool);
    return !p || p.spec.waitingRoom?.admissionsPerSecond == null || p.tokens === null || p.tokens >= 1000;
  }

  /** Line order: higher rank first, then earlier arrival. */
  private inLine(p: ModelPool): ModelTicket[] {
    return this.waiting(p).sort((a, b) => b.priority.rank - a.priority.rank || a.seq - b.seq);
  }

  private view(p: ModelPool, t: ModelTicket, now: number): WaitTicket {
    const position = t.state === 'waiting' ? this.inLine(p).indexOf(t) + 1 : 0;
    return {
      id: t.id,
      pool: p.spec.id,
      owner: t.owner,
      agency: t.agency,
      clientId: t.clientId,
      priorityClass: t.priority.class,
      rank: t.priority.rank,
      reason: t.reason,
      joinedAt: t.joinedAt,
      state: t.state,
      position,
      checkInBy: t.checkInBy,
      offer: t.offer ? { ...t.offer } : null,
      estimatedWaitMs: t.state === 'waiting' ? this.estimate(p, position, now) : null,
    };
  }

  /** Offers made in the current and the 29 previous 10-second buckets; the wait is position × time they took / their number. */
  private estimate(p: ModelPool, position: number, now: number): number | null {
    const b = Math.floor(now / 10_000);
    const recent = p.offerTimes.map((t) => Math.floor(t / 10_000)).filter((x) => x > b - 30 && x <= b);
    if (recent.length === 0) return null;
    const elapsed = Math.max(now - Math.min(...recent) * 10_000, 10_000);
    return Math.ceil((position * elapsed) / recent.length);
  }

  private usable(p: ModelPool, ticketId: string, owner: string, now: number): LeaseResult<ModelTicket> {
    const t = p.tickets.find((x) => x.id === ticketId && x.owner === owner);
    if (!t) return { ok: false, failure: 'ticket-not-found' };
    if (t.checkInBy > now) return { ok: true, value: t };
    const waiting = t.state === 'waiting';
    this.dropTicket(p, t, waiting ? 'missed-check-in' : 'offer-expired', now);
    this.offerStep(p, now);
    return { ok: false, failure: waiting ? 'ticket-not-found' : 'offer-expired' };
  }

  /** Offers past their claim window, then waiters past their check-in deadline, up to `limit` each, earliest first, ties by id. */
  private reapWaiting(p: ModelPool, limit: number, now: number): void {
    const due = (ts: ModelTicket[]) =>
      ts
        .filter((t) => t.checkInBy <= now)
        .sort((a, b) => a.checkInBy - b.checkInBy || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, limit);
    for (const t of due(this.offers(p))) this.dropTicket(p, t, 'offer-expired', now);
    for (const t of due(this.waiting(p))) this.dropTicket(p, t, 'missed-check-in', now);
  }

  /** The offer step of docs/admission.md, restated plainly. */
  private offerStep(p: ModelPool, now: number): void {
    const wr = p.spec.waitingRoom;
    if (!wr || this.waiting(p).length === 0) return;
    this.refill(p, now);
    for (;;) {
      if (this.inService(p).length === 0) return;
      const free = this.free(p);
      if (free < 1 || !this.hasToken(p)) return;
      // The first of each (rank, agency) group, in line order.
      const heads = this.inLine(p).filter((t, i, line) => line.findIndex((u) => u.priority.rank === t.priority.rank && u.agency === t.agency) === i);
      let chosen: ModelTicket | undefined;
      let dropped = false;
      for (const t of heads) {
        const share = p.spec.agencies.find((a) => a.id === t.agency);
        const ownLive = p.leases.filter((l) => l.owner === t.owner && this.isLive(l, now)).length;
        const reason: LeaveReason | null = t.checkInBy <= now ? 'missed-check-in' : !share ? 'not-entitled' : ownLive >= p.spec.perEmployeeLimit ? 'employee-at-limit' : null;
        if (reason) {
          this.dropTicket(p, t, reason, now);
          dropped = true;
          break;
        }
        if (this.countAgency(p, t.agency) >= share!.maximum) continue;
        const others = this.reservedFor(p, t.agency);
        if (free - others < 1 || free - others - this.headroomAbove(p, t.priority.rank) < 1) continue;
        chosen = t;
        break;
      }
      if (dropped) continue;
      if (!chosen) return;
      const member = this.chooseMember(p);
      chosen.state = 'offered';
      chosen.offer = { member: member.id, until: now + wr.claimWindowMs };
      chosen.checkInBy = chosen.offer.until;
      if (wr.admissionsPerSecond !== null) p.tokens! -= 1000;
      p.offerTimes.push(now);
      this.record(p, { t: String(now), ev: 'offered', own: chosen.owner, ag: chosen.agency, m: member.id, g: chosen.id, pc: chosen.priority.class, d: `{"until":${chosen.offer.until}}` });
      this.changes.push({ kind: 'offered', ticket: this.view(p, chosen, now) });
    }
  }

  private dropTicket(p: ModelPool, t: ModelTicket, reason: LeaveReason, now: number): void {
    p.tickets = p.tickets.filter((x) => x !== t);
    const base = { t: String(now), own: t.owner, ag: t.agency, g: t.id, pc: t.priority.class };
    if (t.offer && reason === 'offer-expired') this.record(p, { ...base, ev: 'offer-expired', m: t.offer.member });
    else if (t.offer) this.record(p, { ...base, ev: 'left-queue', m: t.offer.member, d: `{"reason":"${reason}"}` });
    else this.record(p, { ...base, ev: 'left-queue', d: `{"reason":"${reason}"}` });
    this.changes.push({ kind: 'left', pool: p.spec.id, ticketId: t.id, owner: t.owner, reason });
  }

  private refill(p: ModelPool, now: number): void {
    const rate = p.spec.waitingRoom?.admissionsPerSecond ?? null;
    if (rate === null) return;
    if (p.tokens === null) {
      p.tokens = rate * 1000;
      p.tokensAt = now;
    } else if (now > p.tokensAt) {
      p.tokens = Math.min(rate * 1000, p.tokens + (now - p.tokensAt) * rate);
      p.tokensAt = now;
    }
  }

  private hasToken(p: ModelPool): boolean {
    const rate = p.spec.waitingRoom?.admissionsPerSecond ?? null;
    return rate === null || (p.tokens ?? 0) >= 1000;
  }

  reservedFor(p: ModelPool, agency: string): number {
    let others = 0;
    for (const b of p.spec.agencies) if (b.id !== agency) others += this.unusedGuarantee(p, b.id);
    return others;
  }

  headroomAbove(p: ModelPool, rank: number): number {
    return (p.spec.headroom ?? []).filter((h) => h.rank > rank).reduce((sum, h) => sum + h.slots, 0);
  }

  /** Bands stack from the top of the pool, highest rank nearest to full; a band is in use as far as free has fallen into it. */
  private headroomView(p: ModelPool) {
    const free = Math.max(0, this.free(p));
    const list = p.spec.headroom ?? [];
    return list.map((h, i) => {
      const above = list.filter((o, j) => o.rank > h.rank || (o.rank === h.rank && j < i)).reduce((sum, o) => sum + o.slots, 0);
      return { class: h.class, rank: h.rank, slots: h.slots, inUse: Math.min(h.slots, Math.max(0, above + h.slots - Math.max(free, above))) };
    });
  }

  private chooseMember(p: ModelPool) {
    const candidates = this.inService(p).filter((m) => this.countMember(p, m.id) < m.maxSessions);
    if (p.spec.strategy === 'depth-first') return candidates[0]!;
    // Stable sort keeps config order for full ties. Loads compared as exact fractions.
    return [...candidates].sort((a, b) => {
      const ca = this.countMember(p, a.id);
      const cb = this.countMember(p, b.id);
      return ca * b.maxSessions - cb * a.maxSessions || ca - cb;
    })[0]!;
  }

  private record(p: ModelPool, e: AuditEntry): void {
    p.audit.push(auditFieldsOf(e));
  }

  // ---- helpers -----------------------------------------------------------------------------

  private touch(
    pool: string,
    grantId: string,
    owner: string | undefined,
    now: number,
    onLive: (p: ModelPool, l: Grant) => Grant,
  ): LeaseResult<Grant> {
    const p = this.pools.get(pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const l = p.leases.find((x) => x.id === grantId && (owner === undefined || x.owner === owner));
    if (!l) return { ok: false, failure: 'grant-not-found' };
    if (!this.isLive(l, now)) {
      this.drop(p, l.id);
      this.record(p, { t: String(now), ev: 'expired', own: l.owner, ag: l.agency, m: l.member, g: l.id });
      this.offerStep(p, now);
      return { ok: false, failure: 'lease-expired' };
    }
    return { ok: true, value: onLive(p, l) };
  }

  private rememberKey(p: ModelPool, cmd: GrantCommand, lease: Grant, now: number): void {
    if (cmd.idempotencyKey === undefined) return;
    p.keys.push({ owner: cmd.owner, key: cmd.idempotencyKey, grantId: lease.id, answer: clone(lease), rememberedAt: now });
  }

  private drop(p: ModelPool, id: string): void {
    p.leases = p.leases.filter((l) => l.id !== id);
  }
}
