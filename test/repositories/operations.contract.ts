/**
 * The LeaseStore contract for the operations rules (docs/admission.md,
 * "Runtime overrides", "Maximum session duration", "Member failures",
 * "Audit trail: reading", "Job claims"), run by describeLeaseStoreContract
 * against every store and the reference model. Time moves only through the
 * injected clock.
 */
import type { AuditRecord } from '../../src/domain/audit';
import type { Grant, GrantResult } from '../../src/domain/grant';
import type { PoolOverrides } from '../../src/domain/pool-overrides';
import type { PoolSpec } from '../../src/domain/pool-spec';
import type { AuditQuery, LeaseResult, LeaseStore, LeaseStoreOptions } from '../../src/repositories/lease-store';
import { member, poolSpec } from '../support/pool-spec';
import type { MakeLeaseStore } from './lease-store.contract';

const T0 = 1_700_000_000_000;
const TTL = 120_000;
/** Members of two: small enough to fill in a few steps. */
const pool = (overrides: Partial<PoolSpec> = {}): PoolSpec => poolSpec({ members: [member('m1', 2), member('m2', 2)], ...overrides });
const MIN = 60_000;



function value<T>(r: LeaseResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got failure '${r.failure}'`);
  return r.value;
}

export function describeOperationsContract(makeStore: MakeLeaseStore): void {
  let now: number;
  let store: LeaseStore;
  const cleanups: Array<() => Promise<void>> = [];
  let seq = 0;

  async function open(pools: PoolSpec[], options: Partial<LeaseStoreOptions> = {}): Promise<void> {
    now = T0;
    const made = await makeStore({ clock: () => now, options: { reapBatch: 100, bulkRenewalGraceMs: 0, idempotencyTtlMs: 600_000, ...options } });
    cleanups.push(made.cleanup);
    store = made.store;
    await store.syncPools(pools);
  }

  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function grant(owner: string, agency = 'a', clientId = 'c1'): Promise<GrantResult> {
    seq += 1;
    return value(await store.grant({ pool: 'p', owner, agency, clientId, newGrantId: `g${String(seq).padStart(5, '0')}` }));
  }

  async function create(owner: string, agency = 'a', clientId = 'c1'): Promise<Grant> {
    const r = await grant(owner, agency, clientId);
    if (r.outcome !== 'created') throw new Error(`expected created, got ${r.outcome}${r.outcome === 'refused' ? ` (${r.code})` : ''}`);
    return r.grant;
  }

  async function override(o: PoolOverrides): Promise<number> {
    const layers = (await store.getPoolLayers('p'))!;
    const w = value(await store.setPoolOverrides('p', o, layers.revision, { ev: 'operator', by: 'op-1', act: 'test-change' }));
    if (!w.applied) throw new Error('override not applied');
    return w.revision;
  }

  async function readAll(q: Omit<AuditQuery, 'limit' | 'after'>, limit = 2, id = 'p'): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let after: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const page = await store.readAudit(id, { ...q, limit, ...(after !== undefined ? { after } : {}) });
      expect(page.records.length).toBeLessThanOrEqual(limit);
      out.push(...page.records);
      if (page.next === null) return out;
      after = page.next;
    }
    throw new Error('audit paging did not end');
  }

  describe('runtime overrides', () => {
    it('start empty: the effective definition is the file’s, at a revision; null for an unknown pool', async () => {
      await open([pool()]);
      const l = (await store.getPoolLayers('p'))!;
      expect(l.base).toEqual(pool());
      expect(l.effective).toEqual(pool());
      expect(l.overrides).toEqual({});
      expect(l.revision).toBeGreaterThan(0);
      expect(await store.getPoolLayers('nope')).toBeNull();
      expect(await store.setPoolOverrides('nope', {}, 1)).toEqual({ ok: false, failure: 'unknown-pool' });
    });

    it('apply at once to admissions: raising a member lets more in, lowering one cuts nobody off', async () => {
      await open([pool({ members: [member('m1', 1)] })]);
      const g1 = await create('o1');
      expect(await grant('o2')).toMatchObject({ outcome: 'refused', code: 'pool-full' });
      await override({ members: { m1: { maxSessions: 3 } } });
      expect((await store.getPoolSpec('p'))!.members[0]!.maxSessions).toBe(3);
      const g2 = await create('o2');
      await override({ members: { m1: { maxSessions: 1 } } });
      expect(value(await store.get('p', g1.id))).toEqual(g1);
      expect(value(await store.get('p', g2.id))).toEqual(g2);
      expect(await grant('o3')).toMatchObject({ outcome: 'refused', code: 'pool-full' });
      value(await store.release('p', g1.id));
      expect(await grant('o3')).toMatchObject({ outcome: 'refused', code: 'pool-full' });
      value(await store.release('p', g2.id));
      await create('o3');
    });

    it('change licence limit, per-employee limit and agency shares', async () => {
      await open([pool({ perEmployeeLimit: 1 })]);
      await override({ licenceLimit: 2, perEmployeeLimit: 2, agencies: { b: { maximum: 1 } } });
      const spec = (await store.getPoolSpec('p'))!;
      expect([spec.licenceLimit, spec.perEmployeeLimit, spec.agencies[1]]).toEqual([2, 2, { id: 'b', guaranteed: 0, maximum: 1 }]);
      await create('o1', 'a', 'laptop');
      await create('o1', 'a', 'phone');
      expect(await grant('o2', 'b')).toMatchObject({ outcome: 'refused', code: 'pool-full' });
      await override({ licenceLimit: null, agencies: { b: { maximum: 1 } } });
      await create('o2', 'b');
      expect(await grant('o3', 'b')).toMatchObject({ outcome: 'refused', code: 'agency-at-maximum' });
    });

    it('compare and set: a write at an old revision changes nothing', async () => {
      await open([pool()]);
      const r0 = (await store.getPoolLayers('p'))!.revision;
      const r1 = await override({ perEmployeeLimit: 3 });
      expect(r1).toBeGreaterThan(r0);
      expect(value(await store.setPoolOverrides('p', { perEmployeeLimit: 5 }, r0))).toEqual({ applied: false, revision: r1 });
      expect((await store.getPoolSpec('p'))!.perEmployeeLimit).toBe(3);
    });

    it('survive a re-sync of the config file, layered over its new definition', async () => {
      await open([pool()]);
      const r1 = await override({ members: { m2: { maxSessions: 9, state: 'drain', stateBy: 'operator', stateReason: 'patching', stateSince: T0 } } });
      await store.syncPools([pool({ retryAfterSeconds: 45, members: [member('m1', 4), member('m2', 2)] })]);
      const l = (await store.getPoolLayers('p'))!;
      expect(l.revision).toBeGreaterThan(r1);
      expect(l.base.members).toEqual([member('m1', 4), member('m2', 2)]);
      expect(l.overrides.members?.['m2']?.maxSessions).toBe(9);
      expect(l.effective.retryAfterSeconds).toBe(45);
      expect(l.effective.members).toEqual([
        member('m1', 4),
        { id: 'm2', maxSessions: 9, state: 'drain', stateBy: 'operator', stateReason: 'patching', stateSince: T0 },
      ]);
      expect(await store.getPoolSpec('p')).toEqual(l.effective);
    });

    it('of a member the file no longer has are kept but change nothing', async () => {
      await open([pool()]);
      await override({ members: { m2: { maxSessions: 7 } } });
      await store.syncPools([pool({ members: [member('m1', 2)] })]);
      const l = (await store.getPoolLayers('p'))!;
      expect(l.effective.members).toEqual([member('m1', 2)]);
      expect(l.overrides.members).toEqual({ m2: { maxSessions: 7 } });
      await store.syncPools([pool()]);
      expect((await store.getPoolSpec('p'))!.members[1]!.maxSessions).toBe(7);
    });

    it('drain a member: running sessions and reconnects go on, new ones go elsewhere; snapshots say why', async () => {
      await open([pool()]);
      const g = await create('o1'); // m1
      await override({ members: { m1: { state: 'drain', stateReason: 'firmware', stateBy: 'operator', stateSince: T0 + 1 } } });
      expect(await grant('o1')).toMatchObject({ outcome: 'reconnected', grant: { id: g.id, member: 'm1' } });
      expect((await create('o2')).member).toBe('m2');
      const s = value(await store.snapshot('p'));
      expect(s.members[0]).toEqual({ id: 'm1', state: 'drain', maxSessions: 2, active: 1, stateReason: 'firmware', stateBy: 'operator', stateSince: T0 + 1 });
      expect(s.capacity).toBe(2);
      await override({});
      expect(value(await store.snapshot('p')).members[0]).toEqual({ id: 'm1', state: 'active', maxSessions: 2, active: 1 });
    });

    it('write their audit record in the same step, at store time', async () => {
      await open([pool()]);
      now = T0 + 500;
      const layers = (await store.getPoolLayers('p'))!;
      value(await store.setPoolOverrides('p', { perEmployeeLimit: 2 }, layers.revision, { ev: 'operator', by: 'op-9', act: 'pool-change', m: 'm1', d: '{"x":1}' }));
      value(await store.setPoolOverrides('p', { perEmployeeLimit: 3 }, layers.revision, { ev: 'operator', by: 'op-9', act: 'lost-race' }));
      const records = await readAll({ fromMs: T0, toMs: T0 + 1000 });
      expect(records.map(({ id: _id, ...r }) => r)).toEqual([{ t: String(T0 + 500), ev: 'operator', own: '', ag: '', m: 'm1', g: '', code: '', pc: '', by: 'op-9', act: 'pool-change', d: '{"x":1}' }]);
    });

    it('maxSessionMs null removes the file’s maximum session duration', async () => {
      await open([pool({ maxSessionMs: 10 * MIN })]);
      await override({ maxSessionMs: null });
      expect((await store.getPoolSpec('p'))!.maxSessionMs).toBeUndefined();
      await override({ maxSessionMs: 5 * MIN });
      expect((await store.getPoolSpec('p'))!.maxSessionMs).toBe(5 * MIN);
    });
  });

  describe('maximum session duration', () => {
    const MAX = 5 * MIN; // TTL is 2 minutes

    it('a lease is created for its TTL, or up to the maximum if that is shorter', async () => {
      await open([pool({ maxSessionMs: MAX })]);
      expect((await create('o1')).expiresAt).toBe(T0 + TTL);
      await override({ maxSessionMs: MIN });
      expect((await create('o2')).expiresAt).toBe(T0 + MIN);
    });

    it('heartbeats renew up to createdAt + maximum, never past it; then the lease expires', async () => {
      await open([pool({ maxSessionMs: MAX })]);
      const g = await create('o1');
      now = T0 + MIN;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + 3 * MIN);
      now = T0 + 2 * MIN;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + 4 * MIN);
      now = T0 + 4 * MIN - 1;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + MAX);
      now = T0 + MAX - 1;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + MAX);
      now = T0 + MAX;
      expect(await store.heartbeat('p', g.id)).toEqual({ ok: false, failure: 'lease-expired' });
      expect(value(await store.snapshot('p')).active).toBe(0);
    });

    it('reconnects and bulk renewals stop at the maximum too', async () => {
      await open([pool({ maxSessionMs: MAX })]);
      const g1 = await create('o1'); // m1
      const g2 = await create('o2'); // m2
      for (const at of [1.5, 3]) {
        now = T0 + at * MIN;
        for (const g of [g1, g2]) value(await store.heartbeat('p', g.id));
      }
      now = T0 + 4 * MIN;
      expect(await grant('o1')).toMatchObject({ outcome: 'reconnected', grant: { id: g1.id, expiresAt: T0 + MAX } });
      expect(value(await store.bulkRenew({ pool: 'p', member: 'm2', active: [g2.id], ended: [] }))).toEqual({ renewed: 1, released: 0, expired: 0, unknown: [], releasedLeases: [], expiredLeases: [] });
      expect(value(await store.get('p', g2.id)).expiresAt).toBe(T0 + MAX);
    });

    it('lowering it ends no lease early: an older lease keeps its expiry and is no longer extended', async () => {
      await open([pool()]);
      const g = await create('o1');
      now = T0 + 1.5 * MIN;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + 3.5 * MIN);
      await override({ maxSessionMs: 2 * MIN });
      now = T0 + 3 * MIN;
      expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(T0 + 3.5 * MIN);
      now = T0 + 3.5 * MIN;
      expect(await store.heartbeat('p', g.id)).toEqual({ ok: false, failure: 'lease-expired' });
    });

    it('sessionsEnding: live leases whose end lies in (from, to], in creation order; none without a maximum', async () => {
      await open([pool({ members: [member('m1', 10)], perEmployeeLimit: 5 })]);
      const a = await create('o1', 'a', 'c1');
      now = T0 + 1000;
      const b = await create('o2');
      now = T0 + 2000;
      const c = await create('o3');
      expect(await store.sessionsEnding('p', T0, T0 + 10 * MAX)).toEqual([]);
      await override({ maxSessionMs: MAX });
      // a ends at T0+MAX, b at +1000, c at +2000.
      expect((await store.sessionsEnding('p', T0 + MAX - 1, T0 + MAX + 1000)).map((g) => g.id)).toEqual([a.id, b.id]);
      expect((await store.sessionsEnding('p', T0 + MAX, T0 + MAX + 2000)).map((g) => g.id)).toEqual([b.id, c.id]);
      const got = await store.sessionsEnding('p', T0 + MAX + 1999, T0 + MAX + 2000);
      expect(got).toEqual([value(await store.get('p', c.id))]);
      value(await store.release('p', b.id));
      expect((await store.sessionsEnding('p', T0, T0 + 2 * MAX)).map((g) => g.id)).toEqual([a.id, c.id]);
      now = a.expiresAt; // a has expired, not yet reclaimed
      expect((await store.sessionsEnding('p', T0, T0 + 2 * MAX)).map((g) => g.id)).toEqual([c.id]);
      expect(await store.sessionsEnding('nope', T0, T0 + MAX)).toEqual([]);
    });
  });

  describe('member failures', () => {
    it('count distinct reporters within the window; old reports drop out; clearing forgets them', async () => {
      await open([pool()]);
      expect(value(await store.recordMemberFailure('p', 'm1', 'r1', 60_000))).toBe(1);
      expect(value(await store.recordMemberFailure('p', 'm1', 'r1', 60_000))).toBe(1);
      now += 30_000;
      expect(value(await store.recordMemberFailure('p', 'm1', 'r2', 60_000))).toBe(2);
      expect(value(await store.recordMemberFailure('p', 'm2', 'r1', 60_000))).toBe(1);
      now = T0 + 60_000; // r1's report at T0 is exactly at the window's edge: still counts
      expect(value(await store.recordMemberFailure('p', 'm1', 'r3', 60_000))).toBe(3);
      now = T0 + 60_001;
      expect(value(await store.recordMemberFailure('p', 'm1', 'r3', 60_000))).toBe(2);
      await store.clearMemberFailures('p', 'm1');
      expect(value(await store.recordMemberFailure('p', 'm1', 'r4', 60_000))).toBe(1);
    });

    it('answer unknown-member and unknown-pool', async () => {
      await open([pool()]);
      expect(await store.recordMemberFailure('p', 'mz', 'r1', 1000)).toEqual({ ok: false, failure: 'unknown-member' });
      expect(await store.recordMemberFailure('nope', 'm1', 'r1', 1000)).toEqual({ ok: false, failure: 'unknown-pool' });
    });
  });

  describe('audit trail: reading', () => {
    it('reads every record of a range in order, page by page, filtered by agency, and trims old ones', async () => {
      await open([pool()]);
      await store.appendAudit('p', { ev: 'operator', by: 'op-1', act: 'first' });
      now += 1000;
      const ga = await create('o1', 'a');
      now += 1000;
      const gb = await create('o2', 'b');
      now += 1000;
      value(await store.release('p', ga.id));
      now += 1000;
      await store.appendAudit('p', { ev: 'operator', by: 'op-1', act: 'last', ag: 'b' });

      const all = await readAll({ fromMs: T0, toMs: now });
      expect(all.map((r) => [r.t, r.ev])).toEqual([
        [String(T0), 'operator'],
        [String(T0 + 1000), 'granted'],
        [String(T0 + 2000), 'granted'],
        [String(T0 + 3000), 'released'],
        [String(T0 + 4000), 'operator'],
      ]);
      expect(all[1]).toMatchObject({ own: 'o1', ag: 'a', m: ga.member, g: ga.id });
      expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
      // Paging with any page size gives the same records.
      expect(await readAll({ fromMs: T0, toMs: now }, 1)).toEqual(all);
      expect(await readAll({ fromMs: T0, toMs: now }, 100)).toEqual(all);
      // Both ends inclusive.
      expect((await readAll({ fromMs: T0 + 1000, toMs: T0 + 3000 })).map((r) => r.t)).toEqual([String(T0 + 1000), String(T0 + 2000), String(T0 + 3000)]);
      expect((await readAll({ fromMs: T0, toMs: now, agency: 'b' })).map((r) => [r.ev, r.g])).toEqual([
        ['granted', gb.id],
        ['operator', ''],
      ]);
      expect(await readAll({ fromMs: now + 1, toMs: now + 10 })).toEqual([]);

      expect(await store.trimAudit('p', T0 + 2000)).toBe(2);
      expect((await readAll({ fromMs: T0, toMs: now })).map((r) => r.t)).toEqual([String(T0 + 2000), String(T0 + 3000), String(T0 + 4000)]);
      expect(await store.trimAudit('p', T0 + 2000)).toBe(0);
    });

    it('answers nothing for an unknown pool', async () => {
      await open([pool()]);
      await store.appendAudit('nope', { ev: 'operator', act: 'x' });
      expect(await store.readAudit('nope', { fromMs: 0, toMs: T0 * 2, limit: 10 })).toEqual({ records: [], next: null });
      expect(await store.trimAudit('nope', T0)).toBe(0);
    });
  });

  describe('job claims', () => {
    it('one claimant per job; a completed job stays claimed; a lapsed claim can be taken again', async () => {
      await open([pool()]);
      const job = `job-${Math.random()}`;
      expect(await store.claimJob(job, 60_000)).toBe(true);
      expect(await store.claimJob(job, 60_000)).toBe(false);
      await store.completeJob(job, 60_000);
      expect(await store.claimJob(job, 60_000)).toBe(false);
      const brief = `${job}-brief`;
      expect(await store.claimJob(brief, 5)).toBe(true);
      await new Promise((r) => setTimeout(r, 30));
      expect(await store.claimJob(brief, 60_000)).toBe(true);
    });
  });
}
