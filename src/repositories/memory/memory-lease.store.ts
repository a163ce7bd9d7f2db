import BTree from 'sorted-btree';
import type {
  AgencySnapshot,
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  GrantCommand,
  GrantResult,
  MemberSnapshot,
  PoolSnapshot,
  RefusalCode,
} from '../../domain/grant';
import type { MemberSpec, PoolSpec } from '../../domain/pool-spec';
import type { LeaseResult, LeaseStore, LeaseStoreOptions } from '../lease-store';

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

/** Everything the store keeps for one pool. Counts are kept, not derived, so admission never scans leases. */
class PoolState {
  fence = 0;
  active = 0;
  readonly memberCounts = new Map<string, number>();
  readonly agencyCounts = new Map<string, number>();
  readonly leases = new Map<string, Grant>();
  /** Owner → grant ids; a Set keeps insertion (= creation) order. */
  readonly byOwner = new Map<string, Set<string>>();
  readonly byMember = new Map<string, Set<string>>();
  readonly expiry = new BTree<ExpiryKey, true>(undefined, byExpiry);
  readonly remembered = new Map<string, Remembered>();
  readonly rememberedExpiry = new BTree<ExpiryKey, true>(undefined, byExpiry);

  constructor(public spec: PoolSpec) {}

  memberCount(member: string): number {
    return this.memberCounts.get(member) ?? 0;
  }

  agencyCount(agency: string): number {
    return this.agencyCounts.get(agency) ?? 0;
  }
}

const ok = <T>(value: T): LeaseResult<T> => ({ ok: true, value });
const fail = <T>(failure: 'unknown-pool' | 'unknown-member' | 'grant-not-found' | 'lease-expired'): LeaseResult<T> => ({ ok: false, failure });
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
 * thread; the result is wrapped in a resolved promise.
 *
 * Leases are indexed by expiry in a B+ tree, so admission reaps the oldest
 * expired leases without scanning; counts per member and agency are kept
 * incrementally.
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly kind = 'memory' as const;
  private readonly pools = new Map<string, PoolState>();
  private readonly clock: () => number;

  constructor(private readonly options: LeaseStoreOptions) {
    this.clock = options.clock ?? Date.now;
  }

  syncPools(specs: PoolSpec[]): Promise<void> {
    for (const spec of specs) {
      const state = this.pools.get(spec.id);
      if (state) state.spec = structuredClone(spec);
      else this.pools.set(spec.id, new PoolState(structuredClone(spec)));
    }
    return Promise.resolve();
  }

  getPoolSpec(pool: string): Promise<PoolSpec | null> {
    const state = this.pools.get(pool);
    return Promise.resolve(state ? structuredClone(state.spec) : null);
  }

  grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    return Promise.resolve(this.grantNow(cmd));
  }

  heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    const state = this.pools.get(pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    const now = this.clock();
    const lease = this.findLease(state, grantId, owner);
    if (!lease) return Promise.resolve(fail('grant-not-found'));
    if (lease.expiresAt <= now) {
      this.remove(state, lease);
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
    return Promise.resolve(lease.expiresAt <= now ? fail('lease-expired') : ok(copy(lease)));
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
    for (const id of state.byOwner.get(owner) ?? []) {
      const lease = state.leases.get(id)!;
      if (lease.expiresAt > now) out.push(copy(lease));
    }
    return Promise.resolve(out);
  }

  bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    const state = this.pools.get(cmd.pool);
    if (!state) return Promise.resolve(fail('unknown-pool'));
    if (!state.spec.members.some((m) => m.id === cmd.member)) return Promise.resolve(fail('unknown-member'));
    const now = this.clock();
    const result: BulkRenewResult = { renewed: 0, released: 0, expired: 0, unknown: [] };
    const reported = new Set<string>();
    const handle = (id: string, ended: boolean): void => {
      if (reported.has(id)) return;
      reported.add(id);
      const lease = state.leases.get(id);
      if (!lease || lease.member !== cmd.member) {
        result.unknown.push(id);
      } else if (lease.expiresAt <= now) {
        this.remove(state, lease);
        result.expired++;
      } else if (ended) {
        this.remove(state, lease);
        result.released++;
      } else {
        this.renew(state, lease, now);
        result.renewed++;
      }
    };
    for (const id of cmd.ended) handle(id, true);
    for (const id of cmd.active) handle(id, false);
    // The agent no longer carries what it did not report, unless the lease is too young to have connected yet.
    for (const id of [...(state.byMember.get(cmd.member) ?? [])]) {
      if (reported.has(id)) continue;
      const lease = state.leases.get(id)!;
      if (now - lease.createdAt >= this.options.bulkRenewalGraceMs) {
        this.remove(state, lease);
        result.expired++;
      }
    }
    return Promise.resolve(ok(result));
  }

  reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    const state = this.pools.get(pool);
    return Promise.resolve(state ? this.reapNow(state, limit, this.clock()) : []);
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
    this.forgetExpiredKeys(state, now);

    if (cmd.idempotencyKey !== undefined) {
      const remembered = state.remembered.get(rememberKey(cmd.owner, cmd.idempotencyKey));
      if (remembered) {
        const lease = state.leases.get(remembered.grantId);
        const grant = lease && lease.expiresAt > now ? copy(lease) : copy(remembered.answer);
        return ok({ outcome: 'replayed', grant, expired });
      }
    }

    const refuse = (code: RefusalCode, retry: boolean): LeaseResult<GrantResult> =>
      ok({ outcome: 'refused', code, retryAfterSeconds: retry ? spec.retryAfterSeconds : null, expired });

    const share = spec.agencies.find((a) => a.id === cmd.agency);
    if (!share) return refuse('not-entitled', false);

    let liveOfOwner = 0;
    for (const id of state.byOwner.get(cmd.owner) ?? []) {
      const lease = state.leases.get(id)!;
      if (lease.expiresAt <= now) continue;
      if (lease.clientId === cmd.clientId) {
        this.renew(state, lease, now);
        this.remember(state, cmd, lease, now);
        return ok({ outcome: 'reconnected', grant: copy(lease), expired });
      }
      liveOfOwner++;
    }
    if (liveOfOwner >= spec.perEmployeeLimit) return refuse('employee-at-limit', false);
    if (state.agencyCount(cmd.agency) >= share.maximum) return refuse('agency-at-maximum', true);

    const inService = spec.members.filter((m) => m.state === 'active');
    if (inService.length === 0) return refuse('pool-unavailable', true);
    const free = this.free(state, inService);
    if (free < 1) return refuse('pool-full', true);
    let reservedForOthers = 0;
    for (const b of spec.agencies) {
      if (b.id !== cmd.agency) reservedForOthers += Math.max(0, b.guaranteed - state.agencyCount(b.id));
    }
    if (free - reservedForOthers < 1) return refuse('capacity-reserved', true);

    const member = this.chooseMember(state, inService);
    const lease: Grant = {
      id: cmd.newGrantId,
      pool: spec.id,
      member: member.id,
      agency: cmd.agency,
      owner: cmd.owner,
      clientId: cmd.clientId,
      fencingToken: ++state.fence,
      createdAt: now,
      expiresAt: now + spec.leaseTtlMs,
      ttlMs: spec.leaseTtlMs,
    };
    this.add(state, lease);
    this.remember(state, cmd, lease, now);
    return ok({ outcome: 'created', grant: copy(lease), expired });
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
      out.push(expiredOf(lease));
    }
    return out;
  }

  private renew(state: PoolState, lease: Grant, now: number): void {
    state.expiry.delete({ at: lease.expiresAt, id: lease.id });
    lease.expiresAt = now + lease.ttlMs;
    state.expiry.set({ at: lease.expiresAt, id: lease.id }, true);
  }

  private add(state: PoolState, lease: Grant): void {
    state.leases.set(lease.id, lease);
    state.expiry.set({ at: lease.expiresAt, id: lease.id }, true);
    let owned = state.byOwner.get(lease.owner);
    if (!owned) state.byOwner.set(lease.owner, (owned = new Set()));
    owned.add(lease.id);
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
    const owned = state.byOwner.get(lease.owner)!;
    owned.delete(lease.id);
    if (owned.size === 0) state.byOwner.delete(lease.owner);
    const onMember = state.byMember.get(lease.member)!;
    onMember.delete(lease.id);
    if (onMember.size === 0) state.byMember.delete(lease.member);
    state.active--;
    inc(state.memberCounts, lease.member, -1);
    inc(state.agencyCounts, lease.agency, -1);
  }
}
