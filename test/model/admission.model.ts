/**
 * A reference model of docs/admission.md: the rules restated as plainly as
 * possible, with no indexes and no kept counts. Every figure is recomputed
 * from the list of leases each time; slow on purpose, so that it is easy to
 * check by reading. Property tests run the same commands against a real
 * store and this model and expect the same answers.
 *
 * Time is an explicit argument of every method (the store's `now`).
 */
import type { BulkRenewCommand, BulkRenewResult, ExpiredLease, Grant, GrantCommand, GrantResult, PoolSnapshot } from '../../src/domain/grant';
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

interface ModelPool {
  spec: PoolSpec;
  fence: number;
  /** Every stored lease, live or expired-not-yet-reclaimed, in creation order. */
  leases: Grant[];
  keys: RememberedKey[];
}

const clone = <T>(x: T): T => structuredClone(x);

export class AdmissionModel {
  readonly pools = new Map<string, ModelPool>();

  constructor(readonly options: ModelOptions) {}

  syncPools(specs: PoolSpec[]): void {
    for (const spec of specs) {
      const pool = this.pools.get(spec.id);
      if (pool) pool.spec = clone(spec);
      else this.pools.set(spec.id, { spec: clone(spec), fence: 0, leases: [], keys: [] });
    }
  }

  getPoolSpec(pool: string): PoolSpec | null {
    const p = this.pools.get(pool);
    return p ? clone(p.spec) : null;
  }

  // ---- the figures of "Terms" --------------------------------------------------------------

  isLive(lease: Grant, now: number): boolean {
    return lease.expiresAt > now;
  }

  countMember(p: ModelPool, member: string): number {
    return p.leases.filter((l) => l.member === member).length;
  }

  countAgency(p: ModelPool, agency: string): number {
    return p.leases.filter((l) => l.agency === agency).length;
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
    return p.spec.licenceLimit === null ? Infinity : p.spec.licenceLimit - p.leases.length;
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

  /** Reclaims up to `limit` expired leases, oldest expiry first, ties by grant id. */
  reap(pool: string, limit: number, now: number): ExpiredLease[] {
    const p = this.pools.get(pool);
    if (!p) return [];
    const expired = p.leases
      .filter((l) => !this.isLive(l, now))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, Math.max(0, limit));
    for (const l of expired) this.drop(p, l.id);
    return expired.map((l) => ({ id: l.id, pool: l.pool, member: l.member, agency: l.agency, owner: l.owner }));
  }

  grant(cmd: GrantCommand, now: number): LeaseResult<GrantResult> {
    // 1
    const p = this.pools.get(cmd.pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    const spec = p.spec;
    // 2
    const expired = this.reap(cmd.pool, this.options.reapBatch, now);
    // 3
    p.keys = p.keys.filter((k) => now < k.rememberedAt + this.options.idempotencyTtlMs);
    if (cmd.idempotencyKey !== undefined) {
      const remembered = p.keys.find((k) => k.owner === cmd.owner && k.key === cmd.idempotencyKey);
      if (remembered) {
        const current = p.leases.find((l) => l.id === remembered.grantId);
        const grant = current && this.isLive(current, now) ? clone(current) : clone(remembered.answer);
        return { ok: true, value: { outcome: 'replayed', grant, expired } };
      }
    }
    const refused = (code: Extract<GrantResult, { outcome: 'refused' }>['code']): LeaseResult<GrantResult> => ({
      ok: true,
      value: {
        outcome: 'refused',
        code,
        retryAfterSeconds: ['agency-at-maximum', 'pool-unavailable', 'pool-full', 'capacity-reserved'].includes(code) ? spec.retryAfterSeconds : null,
        expired,
      },
    });
    // 4
    const share = spec.agencies.find((a) => a.id === cmd.agency);
    if (!share) return refused('not-entitled');
    // 5
    const ownLive = p.leases.filter((l) => l.owner === cmd.owner && this.isLive(l, now));
    const same = ownLive.find((l) => l.clientId === cmd.clientId);
    if (same) {
      same.expiresAt = now + same.ttlMs;
      this.rememberKey(p, cmd, same, now);
      return { ok: true, value: { outcome: 'reconnected', grant: clone(same), expired } };
    }
    // 6
    if (ownLive.length >= spec.perEmployeeLimit) return refused('employee-at-limit');
    // 7
    if (this.countAgency(p, cmd.agency) >= share.maximum) return refused('agency-at-maximum');
    // 8
    if (this.inService(p).length === 0) return refused('pool-unavailable');
    // 9
    const free = this.free(p);
    if (free < 1) return refused('pool-full');
    // 10
    let others = 0;
    for (const b of spec.agencies) if (b.id !== cmd.agency) others += this.unusedGuarantee(p, b.id);
    if (free - others < 1) return refused('capacity-reserved');
    // 11
    const candidates = this.inService(p).filter((m) => this.countMember(p, m.id) < m.maxSessions);
    let member = candidates[0]!;
    if (spec.strategy === 'breadth-first') {
      // Stable sort keeps config order for full ties. Loads compared as exact fractions.
      const sorted = [...candidates].sort((a, b) => {
        const ca = this.countMember(p, a.id);
        const cb = this.countMember(p, b.id);
        return ca * b.maxSessions - cb * a.maxSessions || ca - cb;
      });
      member = sorted[0]!;
    }
    // 12
    p.fence += 1;
    const lease: Grant = {
      id: cmd.newGrantId,
      pool: cmd.pool,
      member: member.id,
      agency: cmd.agency,
      owner: cmd.owner,
      clientId: cmd.clientId,
      fencingToken: p.fence,
      createdAt: now,
      expiresAt: now + spec.leaseTtlMs,
      ttlMs: spec.leaseTtlMs,
    };
    p.leases.push(lease);
    this.rememberKey(p, cmd, lease, now);
    return { ok: true, value: { outcome: 'created', grant: clone(lease), expired } };
  }

  heartbeat(pool: string, grantId: string, owner: string | undefined, now: number): LeaseResult<Grant> {
    return this.touch(pool, grantId, owner, now, (_p, l) => {
      l.expiresAt = now + l.ttlMs;
      return clone(l);
    });
  }

  release(pool: string, grantId: string, owner: string | undefined, now: number): LeaseResult<Grant> {
    return this.touch(pool, grantId, owner, now, (p, l) => {
      this.drop(p, l.id);
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

  bulkRenew(cmd: BulkRenewCommand, now: number): LeaseResult<BulkRenewResult> {
    const p = this.pools.get(cmd.pool);
    if (!p) return { ok: false, failure: 'unknown-pool' };
    if (!p.spec.members.some((m) => m.id === cmd.member)) return { ok: false, failure: 'unknown-member' };
    const result: BulkRenewResult = { renewed: 0, released: 0, expired: 0, unknown: [] };
    const reported: string[] = [];
    const reports = [...cmd.ended.map((id) => ({ id, ended: true })), ...cmd.active.map((id) => ({ id, ended: false }))];
    for (const { id, ended } of reports) {
      if (reported.includes(id)) continue;
      reported.push(id);
      const l = p.leases.find((x) => x.id === id && x.member === cmd.member);
      if (!l) result.unknown.push(id);
      else if (!this.isLive(l, now)) {
        this.drop(p, id);
        result.expired += 1;
      } else if (ended) {
        this.drop(p, id);
        result.released += 1;
      } else {
        l.expiresAt = now + l.ttlMs;
        result.renewed += 1;
      }
    }
    const unreportedOld = p.leases.filter(
      (l) => l.member === cmd.member && !reported.includes(l.id) && now - l.createdAt >= this.options.bulkRenewalGraceMs,
    );
    for (const l of unreportedOld) {
      this.drop(p, l.id);
      result.expired += 1;
    }
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
        active: p.leases.length,
        free: Math.max(0, this.free(p)),
        perEmployeeLimit: s.perEmployeeLimit,
        leaseTtlMs: s.leaseTtlMs,
        members: s.members.map((m) => ({
          id: m.id,
          ...(m.host !== undefined ? { host: m.host } : {}),
          state: m.state,
          maxSessions: m.maxSessions,
          active: this.countMember(p, m.id),
        })),
        agencies: s.agencies.map((a) => ({ id: a.id, guaranteed: a.guaranteed, maximum: a.maximum, active: this.countAgency(p, a.id) })),
        at: now,
      },
    };
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
