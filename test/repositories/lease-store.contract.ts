/**
 * The one contract suite for LeaseStore: every rule of docs/admission.md, run
 * against each implementation (memory-lease.store.test.ts, redis/redis-lease.store.test.ts).
 *
 * Time moves only through the injected clock (`now`), never by sleeping.
 */
import type { Grant, GrantCommand, GrantResult, PoolSnapshot } from '../../src/domain/grant';
import type { PoolSpec } from '../../src/domain/pool-spec';
import { FENCE_PER_MS } from '../../src/domain/fencing';
import { member, poolSpec as pool, share } from '../support/pool-spec';
import type { LeaseResult, LeaseStore, LeaseStoreOptions } from '../../src/repositories/lease-store';
import { describeOperationsContract } from './operations.contract';

export type MakeLeaseStore = (opts: {
  clock: () => number;
  options?: Partial<LeaseStoreOptions>;
}) => Promise<{ store: LeaseStore; cleanup: () => Promise<void> }>;

const T0 = 1_700_000_000_000;
/** The n-th fencing token issued within store millisecond `at` (src/domain/fencing.ts). */
const fence = (n: number, at = T0) => at * FENCE_PER_MS + n - 1;
const TTL = 120_000;
const GRACE = 60_000;
const IDEM_TTL = 600_000;
const RETRY = 30;



function value<T>(r: LeaseResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got failure '${r.failure}'`);
  return r.value;
}

export function describeLeaseStoreContract(name: string, makeStore: MakeLeaseStore): void {
  describe(`LeaseStore contract: ${name}`, () => {
    // Runtime overrides, maximum session duration, failures, audit reading, job claims.
    describe('operations', () => describeOperationsContract(makeStore));

    let now: number;
    let store: LeaseStore;
    const cleanups: Array<() => Promise<void>> = [];
    let seq = 0;

    /** Opens a store (with a fresh clock at T0) holding the given pools. */
    async function open(pools: PoolSpec[], options: Partial<LeaseStoreOptions> = {}): Promise<LeaseStore> {
      now = T0;
      const made = await makeStore({
        clock: () => now,
        options: { reapBatch: 100, bulkRenewalGraceMs: GRACE, idempotencyTtlMs: IDEM_TTL, ...options },
      });
      cleanups.push(made.cleanup);
      store = made.store;
      await store.syncPools(pools);
      return store;
    }

    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    function cmd(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}): GrantCommand {
      seq += 1;
      return { pool: 'p', owner, agency, clientId: 'c1', newGrantId: `g${String(seq).padStart(5, '0')}`, ...extra };
    }

    async function grant(c: GrantCommand): Promise<GrantResult> {
      return value(await store.grant(c));
    }

    /** Grants and expects a new lease. */
    async function create(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}): Promise<Grant> {
      const r = await grant(cmd(owner, agency, extra));
      if (r.outcome !== 'created') throw new Error(`expected created, got ${r.outcome}${r.outcome === 'refused' ? ` (${r.code})` : ''}`);
      return r.grant;
    }

    async function refusal(c: GrantCommand): Promise<{ code: string; retryAfterSeconds: number | null }> {
      const r = await grant(c);
      if (r.outcome !== 'refused') throw new Error(`expected a refusal, got ${r.outcome}`);
      return { code: r.code, retryAfterSeconds: r.retryAfterSeconds };
    }

    async function snap(id = 'p'): Promise<PoolSnapshot> {
      return value(await store.snapshot(id));
    }

    async function counts(): Promise<{ active: number; members: Record<string, number>; agencies: Record<string, number> }> {
      const s = await snap();
      return {
        active: s.active,
        members: Object.fromEntries(s.members.map((m) => [m.id, m.active])),
        agencies: Object.fromEntries(s.agencies.map((a) => [a.id, a.active])),
      };
    }

    async function setSpec(overrides: Partial<PoolSpec>): Promise<void> {
      const current = (await store.getPoolSpec('p'))!;
      await store.syncPools([{ ...current, ...overrides }]);
    }

    describe('pool definitions', () => {
      it('stores specs as given and answers null for an unknown pool', async () => {
        const spec = pool({ name: 'VPN', members: [{ id: 'm1', host: 'gw1.example', maxSessions: 3, state: 'drain' }], licenceLimit: 7 });
        await open([spec, pool({ id: 'q', kind: 'vdi', strategy: 'depth-first' })]);
        expect(await store.getPoolSpec('p')).toEqual(spec);
        expect(await store.getPoolSpec('q')).toEqual(pool({ id: 'q', kind: 'vdi', strategy: 'depth-first' }));
        expect(await store.getPoolSpec('nope')).toBeNull();
      });

      it('leaves pools that are not listed alone', async () => {
        await open([pool(), pool({ id: 'q' })]);
        await store.syncPools([pool({ id: 'q', perEmployeeLimit: 3 })]);
        expect(await store.getPoolSpec('p')).toEqual(pool());
        expect((await store.getPoolSpec('q'))!.perEmployeeLimit).toBe(3);
      });

      it('keeps counts, leases and the fence when capacities change; lowering a maximum cuts nobody off but stops new grants', async () => {
        await open([pool({ members: [member('m1', 3)] })]);
        const g1 = await create('o1');
        const g2 = await create('o2');
        const g3 = await create('o3');
        await setSpec({ members: [member('m1', 2)] });
        expect(await counts()).toEqual({ active: 3, members: { m1: 3 }, agencies: { a: 3, b: 0 } });
        expect(value(await store.get('p', g1.id))).toEqual(g1);
        expect((await snap()).free).toBe(0);
        expect((await refusal(cmd('o4'))).code).toBe('pool-full');
        // One released: 2 left, still not below the new maximum of 2.
        value(await store.release('p', g3.id));
        expect((await refusal(cmd('o4'))).code).toBe('pool-full');
        value(await store.release('p', g2.id));
        const g4 = await create('o4');
        expect(g4.fencingToken).toBe(fence(4));
        // Raising it again lets more in.
        await setSpec({ members: [member('m1', 5)] });
        await create('o5');
        await create('o6');
        expect((await counts()).active).toBe(4);
      });
    });

    describe('unknown pool', () => {
      it('answers unknown-pool (or nothing) from every operation', async () => {
        await open([pool()]);
        expect(await store.grant({ ...cmd('o1'), pool: 'nope' })).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.heartbeat('nope', 'g1')).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.release('nope', 'g1', 'o1')).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.get('nope', 'g1')).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.bulkRenew({ pool: 'nope', member: 'm1', active: [], ended: [] })).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.snapshot('nope')).toEqual({ ok: false, failure: 'unknown-pool' });
        expect(await store.reap('nope', 10)).toEqual([]);
        expect(await store.listByOwner('nope', 'o1')).toEqual([]);
      });

      it('does not see a lease of one pool through another', async () => {
        await open([pool(), pool({ id: 'q' })]);
        const g = await create('o1');
        expect(await store.get('q', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.release('q', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        expect((await snap('q')).active).toBe(0);
      });
    });

    describe('creating a grant', () => {
      it('returns a lease with every field set from the command, the pool and store time', async () => {
        await open([pool()]);
        now = T0 + 5;
        const r = await grant({ pool: 'p', owner: 'o1', agency: 'a', clientId: 'laptop', newGrantId: 'gx1' });
        expect(r).toEqual({
          outcome: 'created',
          expired: [],
          grant: {
            id: 'gx1',
            pool: 'p',
            member: 'm1',
            agency: 'a',
            owner: 'o1',
            clientId: 'laptop',
            fencingToken: fence(1, T0 + 5),
            createdAt: T0 + 5,
            expiresAt: T0 + 5 + TTL,
            ttlMs: TTL,
          },
        });
        expect(await counts()).toEqual({ active: 1, members: { m1: 1, m2: 0 }, agencies: { a: 1, b: 0 } });
        expect(await store.now()).toBe(T0 + 5);
      });

      it('issues strictly increasing fencing tokens per pool, never reusing one after a release', async () => {
        await open([pool({ perEmployeeLimit: 10 }), pool({ id: 'q' })]);
        const tokens: number[] = [];
        for (let i = 0; i < 4; i++) {
          const g = await create('o1', 'a', { clientId: `c${i}` });
          tokens.push(g.fencingToken);
          if (i % 2 === 0) value(await store.release('p', g.id));
        }
        expect(tokens).toEqual([fence(1), fence(2), fence(3), fence(4)]);
        const q = await create('o1', 'a', { pool: 'q' });
        expect(q.fencingToken).toBe(fence(1));
        expect((await create('o2')).fencingToken).toBe(fence(5));
        // Time moves on: the next token is at least store time × FENCE_PER_MS, above all before it.
        now += 3;
        expect((await create('o3')).fencingToken).toBe(fence(1, T0 + 3));
      });
    });

    describe('refusals', () => {
      it('not-entitled: the agency has no share of the pool (no Retry-After)', async () => {
        await open([pool()]);
        expect(await refusal(cmd('o1', 'zz'))).toEqual({ code: 'not-entitled', retryAfterSeconds: null });
        expect((await snap()).active).toBe(0);
      });

      it('employee-at-limit: counts live leases over all of the owner’s clients (no Retry-After)', async () => {
        await open([pool({ perEmployeeLimit: 2 })]);
        await create('o1', 'a', { clientId: 'laptop' });
        const phone = await create('o1', 'a', { clientId: 'phone' });
        expect(await refusal(cmd('o1', 'a', { clientId: 'tablet' }))).toEqual({ code: 'employee-at-limit', retryAfterSeconds: null });
        // Another owner is not affected.
        await create('o2', 'a', { clientId: 'tablet' });
        value(await store.release('p', phone.id, 'o1'));
        await create('o1', 'a', { clientId: 'tablet' });
      });

      it('employee-at-limit does not count expired, not yet reclaimed leases', async () => {
        await open([pool({ perEmployeeLimit: 1 })], { reapBatch: 1 });
        await create('o2'); // expires first, so it is the one the next admission reclaims
        now += 1;
        await create('o1', 'a', { clientId: 'laptop' });
        now += TTL;
        const g = await create('o1', 'a', { clientId: 'phone' });
        expect(g.fencingToken).toBe(fence(1, T0 + 1 + TTL));
        expect((await snap()).active).toBe(2); // the expired laptop lease is still stored
      });

      it('agency-at-maximum, with the pool’s Retry-After', async () => {
        await open([pool({ agencies: [share('a', 0, 2), share('b', 0, 100)] })]);
        await create('o1');
        await create('o2');
        expect(await refusal(cmd('o3'))).toEqual({ code: 'agency-at-maximum', retryAfterSeconds: RETRY });
        await create('o3', 'b');
      });

      it('pool-unavailable: no member in service', async () => {
        await open([pool({ members: [member('m1', 5, 'drain'), member('m2', 5, 'out-of-service')] })]);
        expect(await refusal(cmd('o1'))).toEqual({ code: 'pool-unavailable', retryAfterSeconds: RETRY });
      });

      it('pool-full: every member in service is full', async () => {
        await open([pool({ members: [member('m1', 1), member('m2', 1)] })]);
        await create('o1');
        await create('o2');
        expect(await refusal(cmd('o3', 'b'))).toEqual({ code: 'pool-full', retryAfterSeconds: RETRY });
      });

      it('pool-full: the licence limit caps the pool below its members’ capacity', async () => {
        await open([pool({ licenceLimit: 3 })]);
        for (let i = 0; i < 3; i++) await create(`o${i}`);
        expect(await refusal(cmd('o9'))).toEqual({ code: 'pool-full', retryAfterSeconds: RETRY });
        const s = await snap();
        expect([s.capacity, s.active, s.free]).toEqual([3, 3, 0]);
      });

      it('pool-full counts sessions on drained members against the licence', async () => {
        await open([pool({ licenceLimit: 3, members: [member('m1', 2), member('m2', 5)], strategy: 'depth-first' })]);
        await create('o1');
        await create('o2');
        await setSpec({ members: [member('m1', 2, 'drain'), member('m2', 5)] });
        await create('o3');
        expect((await refusal(cmd('o4'))).code).toBe('pool-full');
      });

      it('capacity-reserved: an agency may borrow free capacity but never another agency’s unused guarantee', async () => {
        await open([pool({ members: [member('m1', 4)], agencies: [share('a', 2, 4), share('b', 0, 4)] })]);
        await create('o1', 'b');
        await create('o2', 'b');
        expect(await refusal(cmd('o3', 'b'))).toEqual({ code: 'capacity-reserved', retryAfterSeconds: RETRY });
        // The agency under its guarantee gets in although the others filled the rest.
        await create('o4', 'a');
        await create('o5', 'a');
        expect((await refusal(cmd('o6', 'a'))).code).toBe('pool-full');
      });

      it('capacity-reserved: borrowing beyond one’s own guarantee stops where another’s unused guarantee starts', async () => {
        await open([pool({ members: [member('m1', 4)], agencies: [share('a', 1, 4), share('b', 1, 4)] })]);
        await create('o1', 'a');
        await create('o2', 'a');
        await create('o3', 'a');
        expect((await refusal(cmd('o4', 'a'))).code).toBe('capacity-reserved');
        await create('o5', 'b');
      });

      it('capacity-reserved counts only capacity of members in service', async () => {
        await open([pool({ members: [member('m1', 2), member('m2', 2)], agencies: [share('a', 0, 9), share('b', 2, 9)] })]);
        await create('o1', 'a');
        await create('o2', 'a');
        await setSpec({ members: [member('m1', 2), member('m2', 2, 'drain')] });
        // m1 has 1 free (breadth-first put one on each member); b's guarantee of 2 is unused.
        expect((await refusal(cmd('o3', 'a'))).code).toBe('capacity-reserved');
        await create('o4', 'b');
      });

      describe('order of the rules', () => {
        it('replay (3) comes before not-entitled (4)', async () => {
          await open([pool()]);
          const g = await create('o1', 'a', { idempotencyKey: 'k1' });
          await setSpec({ agencies: [share('b', 0, 100)] });
          const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k1' }));
          expect(r).toEqual({ outcome: 'replayed', grant: g, expired: [] });
        });

        it('not-entitled (4) comes before reconnect (5)', async () => {
          await open([pool()]);
          await create('o1', 'a');
          await setSpec({ agencies: [share('b', 0, 100)] });
          expect((await refusal(cmd('o1', 'a'))).code).toBe('not-entitled');
        });

        it('reconnect (5) comes before employee-at-limit, agency-at-maximum, pool-unavailable and pool-full', async () => {
          await open([pool({ members: [member('m1', 1)], agencies: [share('a', 0, 1)] })]);
          const g = await create('o1', 'a');
          await setSpec({ members: [member('m1', 1, 'drain')] });
          const r = await grant(cmd('o1', 'a'));
          expect(r.outcome === 'reconnected' && r.grant.id).toBe(g.id);
        });

        it('employee-at-limit (6) comes before agency-at-maximum (7)', async () => {
          await open([pool({ agencies: [share('a', 0, 1)] })]);
          await create('o1', 'a');
          expect((await refusal(cmd('o1', 'a', { clientId: 'c2' }))).code).toBe('employee-at-limit');
        });

        it('agency-at-maximum (7) comes before pool-unavailable (8)', async () => {
          await open([pool({ agencies: [share('a', 0, 1)] })]);
          await create('o1', 'a');
          await setSpec({ members: [member('m1', 10, 'out-of-service'), member('m2', 10, 'drain')] });
          expect((await refusal(cmd('o2', 'a'))).code).toBe('agency-at-maximum');
        });

        it('pool-unavailable (8) comes before pool-full (9)', async () => {
          await open([pool({ members: [member('m1', 1)] })]);
          await create('o1');
          await setSpec({ members: [member('m1', 1, 'drain')] });
          expect((await refusal(cmd('o2'))).code).toBe('pool-unavailable');
        });

        it('pool-full (9) comes before capacity-reserved (10)', async () => {
          await open([pool({ members: [member('m1', 2)], agencies: [share('a', 0, 9), share('b', 2, 9)] })]);
          await create('o1', 'b');
          await create('o2', 'b');
          await setSpec({ agencies: [share('a', 0, 9), share('b', 2, 9), share('c', 2, 9)] });
          expect((await refusal(cmd('o3', 'a'))).code).toBe('pool-full');
        });
      });
    });

    describe('reconnect', () => {
      it('same owner and clientId: the same lease, renewed by its TTL from now, counts unchanged', async () => {
        await open([pool()]);
        const g = await create('o1', 'a', { clientId: 'laptop' });
        now += 50_000;
        const r = await grant(cmd('o1', 'a', { clientId: 'laptop' }));
        expect(r).toEqual({ outcome: 'reconnected', grant: { ...g, expiresAt: now + TTL }, expired: [] });
        expect(await counts()).toEqual({ active: 1, members: { m1: 1, m2: 0 }, agencies: { a: 1, b: 0 } });
        expect(value(await store.get('p', g.id)).expiresAt).toBe(now + TTL);
      });

      it('works on a member in drain or out of service', async () => {
        await open([pool({ members: [member('m1', 2)] })]);
        const g = await create('o1');
        await setSpec({ members: [member('m1', 2, 'drain')] });
        expect((await grant(cmd('o1'))).outcome).toBe('reconnected');
        await setSpec({ members: [member('m1', 2, 'out-of-service')] });
        const r = await grant(cmd('o1'));
        expect(r.outcome === 'reconnected' && r.grant.id).toBe(g.id);
      });

      it('renews by the lease’s own TTL even after the pool’s TTL changed', async () => {
        await open([pool()]);
        const g = await create('o1');
        await setSpec({ leaseTtlMs: 5_000 });
        now += 1_000;
        const r = await grant(cmd('o1'));
        expect(r.outcome === 'reconnected' && r.grant.expiresAt).toBe(now + TTL);
        expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(now + TTL);
        const other = await create('o2');
        expect([other.ttlMs, other.expiresAt]).toEqual([5_000, now + 5_000]);
      });

      it('a different clientId is a new lease; an expired lease is not reconnected', async () => {
        await open([pool({ perEmployeeLimit: 3 })], { reapBatch: 1 });
        await create('o2'); // expires first: the one the admission below reclaims
        now += 1;
        const laptop = await create('o1', 'a', { clientId: 'laptop' });
        const phone = await create('o1', 'a', { clientId: 'phone' });
        expect(phone.id).not.toBe(laptop.id);
        now = laptop.expiresAt;
        const again = await create('o1', 'a', { clientId: 'laptop' });
        expect(again.id).not.toBe(laptop.id);
        expect(again.fencingToken).toBe(fence(1, laptop.expiresAt));
        expect(await store.get('p', laptop.id)).toEqual({ ok: false, failure: 'lease-expired' });
      });
    });

    describe('idempotency', () => {
      it('replays the grant a key created, in its current state, and changes nothing', async () => {
        await open([pool()]);
        const g = await create('o1', 'a', { idempotencyKey: 'k1' });
        now += 10_000;
        const beat = value(await store.heartbeat('p', g.id, 'o1'));
        now += 10_000;
        const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k1', clientId: 'other' }));
        expect(r).toEqual({ outcome: 'replayed', grant: beat, expired: [] });
        expect(value(await store.get('p', g.id))).toEqual(beat);
        expect((await snap()).active).toBe(1);
        expect((await create('o2')).fencingToken).toBe(fence(1, T0 + 20_000));
      });

      it('after release or expiry says the grant has ended (as first given), and creates nothing', async () => {
        await open([pool({ perEmployeeLimit: 2 })]);
        const g1 = await create('o1', 'a', { idempotencyKey: 'k1', clientId: 'c1' });
        const g2 = await create('o1', 'a', { idempotencyKey: 'k2', clientId: 'c2' });
        now += 1_000;
        value(await store.heartbeat('p', g2.id));
        value(await store.release('p', g1.id));
        expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k1' }))).toEqual({ outcome: 'ended', grant: g1, expired: [] });
        now = g2.expiresAt + 1_000 + 1;
        const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k2' }));
        expect(r).toEqual({ outcome: 'ended', grant: g2, expired: [{ id: g2.id, pool: 'p', member: g2.member, agency: 'a', owner: 'o1' }] });
        expect((await snap()).active).toBe(0);
      });

      it('says an expired, not yet reclaimed lease has ended (as first given)', async () => {
        await open([pool()], { reapBatch: 1 });
        const filler = await create('o2'); // expires first: the one the admission below reclaims
        now += 1;
        const g = await create('o1', 'a', { idempotencyKey: 'k1' });
        now += 1_000;
        value(await store.heartbeat('p', g.id));
        now = g.expiresAt + 1_000;
        expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k1' }))).toEqual({
          outcome: 'ended',
          grant: g,
          expired: [{ id: filler.id, pool: 'p', member: filler.member, agency: 'a', owner: 'o2' }],
        });
        expect(await store.get('p', g.id)).toEqual({ ok: false, failure: 'lease-expired' });
      });

      it('is remembered per owner and per pool', async () => {
        await open([pool(), pool({ id: 'q' })]);
        const g1 = await create('o1', 'a', { idempotencyKey: 'k' });
        const g2 = await create('o2', 'a', { idempotencyKey: 'k' });
        const g3 = await create('o1', 'a', { idempotencyKey: 'k', pool: 'q' });
        expect(new Set([g1.id, g2.id, g3.id]).size).toBe(3);
      });

      it('does not remember a refusal: a retry is decided anew', async () => {
        await open([pool({ members: [member('m1', 1)] })]);
        const blocker = await create('o1');
        expect((await refusal(cmd('o2', 'a', { idempotencyKey: 'k' }))).code).toBe('pool-full');
        value(await store.release('p', blocker.id));
        const r = await grant(cmd('o2', 'a', { idempotencyKey: 'k' }));
        expect(r.outcome).toBe('created');
        expect((await grant(cmd('o2', 'a', { idempotencyKey: 'k' }))).outcome).toBe('replayed');
      });

      it('remembers a key given with a reconnect', async () => {
        await open([pool()]);
        const g = await create('o1');
        now += 1_000;
        const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k' }));
        expect(r.outcome).toBe('reconnected');
        value(await store.release('p', g.id));
        expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k' }))).toEqual({
          outcome: 'ended',
          grant: { ...g, expiresAt: T0 + 1_000 + TTL },
          expired: [],
        });
      });

      it('forgets a key once its time is up', async () => {
        await open([pool({ perEmployeeLimit: 5, leaseTtlMs: 10 * IDEM_TTL })]);
        const g = await create('o1', 'a', { idempotencyKey: 'k' });
        now = T0 + IDEM_TTL - 1;
        expect((await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c2' }))).outcome).toBe('replayed');
        now = T0 + IDEM_TTL;
        const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c2' }));
        expect(r.outcome).toBe('created');
        expect(r.outcome === 'created' && r.grant.id).not.toBe(g.id);
        // Remembered again, from now.
        expect((await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c3' }))).outcome).toBe('replayed');
      });

      it('replays even when the pool has since filled up', async () => {
        await open([pool({ members: [member('m1', 1)] })]);
        const g = await create('o1', 'a', { idempotencyKey: 'k' });
        expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c9' }))).toEqual({ outcome: 'replayed', grant: g, expired: [] });
      });
    });

    describe('choice of member', () => {
      it('breadth-first: least loaded by count/maxSessions, ties to the lower count, then config order', async () => {
        await open([pool({ members: [member('m1', 4), member('m2', 2)] })]);
        const chosen: string[] = [];
        for (let i = 0; i < 6; i++) chosen.push((await create(`o${i}`)).member);
        // 0/4=0/2 → m1 (config order); 1/4<0/2? no: m2; 1/4<1/2 → m1; 2/4=1/2 → m2 (lower count); m2 full → m1, m1.
        expect(chosen).toEqual(['m1', 'm2', 'm1', 'm2', 'm1', 'm1']);
        expect((await refusal(cmd('o9'))).code).toBe('pool-full');
      });

      it('breadth-first puts the next lease where one was released', async () => {
        await open([pool({ members: [member('m1', 2), member('m2', 2), member('m3', 2)] })]);
        const gs = [await create('o1'), await create('o2'), await create('o3'), await create('o4')];
        expect(gs.map((g) => g.member)).toEqual(['m1', 'm2', 'm3', 'm1']);
        value(await store.release('p', gs[1]!.id));
        expect((await create('o5')).member).toBe('m2');
      });

      it('depth-first: the first member in config order with room', async () => {
        await open([pool({ strategy: 'depth-first', members: [member('m1', 2), member('m2', 2)] })]);
        const gs = [await create('o1'), await create('o2'), await create('o3')];
        expect(gs.map((g) => g.member)).toEqual(['m1', 'm1', 'm2']);
        value(await store.release('p', gs[0]!.id));
        expect((await create('o4')).member).toBe('m1');
      });

      it('drained and out-of-service members get nothing new', async () => {
        await open([pool({ members: [member('m1', 5, 'drain'), member('m2', 2), member('m3', 5, 'out-of-service')] })]);
        expect((await create('o1')).member).toBe('m2');
        expect((await create('o2')).member).toBe('m2');
        expect((await refusal(cmd('o3'))).code).toBe('pool-full');
        await setSpec({ strategy: 'depth-first', members: [member('m1', 5, 'drain'), member('m2', 2), member('m3', 5)] });
        expect((await create('o3')).member).toBe('m3');
      });
    });

    describe('heartbeat, release, get', () => {
      it('heartbeat extends the owner’s lease by its TTL from now; another owner’s is grant-not-found', async () => {
        await open([pool()]);
        const g = await create('o1');
        now += 30_000;
        expect(await store.heartbeat('p', g.id, 'o1')).toEqual({ ok: true, value: { ...g, expiresAt: now + TTL } });
        expect(await store.heartbeat('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.heartbeat('p', 'g-nope', 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
        now += 1;
        expect(value(await store.heartbeat('p', g.id)).expiresAt).toBe(now + TTL); // no owner: any lease
      });

      it('heartbeat of an expired lease reclaims it: lease-expired, then grant-not-found', async () => {
        await open([pool()]);
        const g = await create('o1');
        now = g.expiresAt - 1;
        value(await store.heartbeat('p', g.id, 'o1'));
        now += TTL;
        expect(await store.heartbeat('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
        expect((await snap()).active).toBe(0);
        expect(await store.heartbeat('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
      });

      it('another owner cannot touch an expired lease: grant-not-found, nothing reclaimed', async () => {
        await open([pool()]);
        const g = await create('o1');
        now = g.expiresAt;
        expect(await store.heartbeat('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.release('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.get('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect((await snap()).active).toBe(1);
      });

      it('release ends the owner’s lease and returns its capacity', async () => {
        await open([pool({ members: [member('m1', 1)] })]);
        const g = await create('o1');
        expect(await store.release('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect((await snap()).active).toBe(1);
        expect(await store.release('p', g.id, 'o1')).toEqual({ ok: true, value: g });
        expect(await counts()).toEqual({ active: 0, members: { m1: 0 }, agencies: { a: 0, b: 0 } });
        expect(await store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.get('p', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        await create('o2');
      });

      it('release of an expired lease reclaims it and answers lease-expired', async () => {
        await open([pool()]);
        const g = await create('o1');
        now = g.expiresAt;
        expect(await store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
        expect((await snap()).active).toBe(0);
        expect(await store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
      });

      it('get reads without renewing; expired reads lease-expired until reclaimed, then grant-not-found', async () => {
        await open([pool()]);
        const g = await create('o1');
        const other = await create('o2');
        now = g.expiresAt - 1;
        expect(await store.get('p', g.id, 'o1')).toEqual({ ok: true, value: g });
        expect(await store.get('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.get('p', 'g-nope')).toEqual({ ok: false, failure: 'grant-not-found' });
        now = g.expiresAt;
        expect(await store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
        expect(await store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
        expect((await snap()).active).toBe(2); // reads never write
        expect((await store.reap('p', 10)).map((e) => e.id)).toEqual([g.id, other.id]);
        expect(await store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
      });

      it('listByOwner: the owner’s live leases in creation order', async () => {
        await open([pool({ perEmployeeLimit: 3 })]);
        const a = await create('o1', 'a', { clientId: 'c1' });
        now += 10;
        const b = await create('o1', 'a', { clientId: 'c2' });
        await create('o2');
        now += 10;
        const c = await create('o1', 'a', { clientId: 'c3' });
        value(await store.heartbeat('p', a.id));
        expect((await store.listByOwner('p', 'o1')).map((g) => g.id)).toEqual([a.id, b.id, c.id]);
        now = b.expiresAt;
        expect(await store.listByOwner('p', 'o1')).toEqual([{ ...a, expiresAt: T0 + 20 + TTL }, c]);
        expect(await store.listByOwner('p', 'o9')).toEqual([]);
      });
    });

    describe('expiry', () => {
      it('an admission reclaims expired leases, oldest expiry first, and capacity returns without release', async () => {
        await open([pool({ members: [member('m1', 3)] })]);
        const g1 = await create('o1');
        now += 10;
        const g2 = await create('o2');
        now += 10;
        const g3 = await create('o3');
        now += 10;
        value(await store.heartbeat('p', g1.id)); // g1 now expires last
        expect((await refusal(cmd('o4'))).code).toBe('pool-full');
        now = T0 + 30 + TTL;
        expect((await snap()).active).toBe(3);
        const r = await grant(cmd('o4'));
        expect(r.outcome).toBe('created');
        const ex = (g: Grant) => ({ id: g.id, pool: 'p', member: 'm1', agency: 'a', owner: g.owner });
        expect(r.expired).toEqual([ex(g2), ex(g3), ex(g1)]);
        expect(await counts()).toEqual({ active: 1, members: { m1: 1 }, agencies: { a: 1, b: 0 } });
      });

      it('an admission reclaims at most reapBatch; refusals report what they reclaimed too', async () => {
        await open([pool({ members: [member('m1', 3)], agencies: [share('a', 0, 100), share('b', 0, 100)] })], { reapBatch: 2 });
        const gs = [await create('o1'), await create('o2'), await create('o3')];
        now += TTL;
        const r = await grant(cmd('o4', 'zz'));
        expect(r).toEqual({
          outcome: 'refused',
          code: 'not-entitled',
          retryAfterSeconds: null,
          expired: gs.slice(0, 2).map((g) => ({ id: g.id, pool: 'p', member: 'm1', agency: 'a', owner: g.owner })),
        });
        expect((await snap()).active).toBe(1);
        const r2 = await grant(cmd('o4'));
        expect(r2.outcome === 'created' && r2.expired.map((e) => e.id)).toEqual([gs[2]!.id]);
      });

      it('leases that expire at the same instant are reclaimed in grant-id order', async () => {
        await open([pool()]);
        const b = await create('o1', 'a', { newGrantId: 'id-b' });
        const c = await create('o2', 'a', { newGrantId: 'id-c' });
        const a = await create('o3', 'a', { newGrantId: 'id-a' });
        now += TTL;
        expect((await store.reap('p', 10)).map((e) => e.id)).toEqual([a.id, b.id, c.id]);
      });

      it('reap(pool, limit) reclaims up to limit expired leases, oldest first, leaving live ones', async () => {
        await open([pool()]);
        const g1 = await create('o1', 'a');
        now += 1_000;
        const g2 = await create('o2', 'b');
        now += 1_000;
        const g3 = await create('o3', 'a');
        expect(await store.reap('p', 10)).toEqual([]);
        now = g2.expiresAt;
        expect(await store.reap('p', 1)).toEqual([{ id: g1.id, pool: 'p', member: g1.member, agency: 'a', owner: 'o1' }]);
        expect(await store.reap('p', 0)).toEqual([]);
        expect(await store.reap('p', 5)).toEqual([{ id: g2.id, pool: 'p', member: g2.member, agency: 'b', owner: 'o2' }]);
        expect(value(await store.get('p', g3.id))).toEqual(g3);
        expect(await counts()).toEqual({ active: 1, members: { m1: 1, m2: 0 }, agencies: { a: 1, b: 0 } });
      });

      it('a lease is live until expiresAt and expired at expiresAt', async () => {
        await open([pool()]);
        const g = await create('o1');
        now = g.expiresAt - 1;
        expect(await store.reap('p', 10)).toEqual([]);
        expect((await grant(cmd('o1'))).outcome).toBe('reconnected');
        now = g.expiresAt - 1 + TTL;
        expect((await store.reap('p', 10)).map((e) => e.id)).toEqual([g.id]);
      });
    });

    describe('bulk renewal', () => {
      /** How a lease a bulk renewal ended is reported (for the services' released / expired events). */
      const ended = (g: Grant) => ({ id: g.id, pool: g.pool, member: g.member, agency: g.agency, owner: g.owner });

      async function fleet(): Promise<Grant[]> {
        await open([pool({ strategy: 'depth-first', members: [member('m1', 10), member('m2', 10)], perEmployeeLimit: 10 })]);
        const gs: Grant[] = [];
        for (let i = 0; i < 6; i++) gs.push(await create('o1', 'a', { clientId: `c${i}` }));
        return gs;
      }

      it('renews what is carried, releases what ended, expires unreported leases past the grace, spares younger ones', async () => {
        const [g0, g1, g2, g3, g4, g5] = await fleet(); // all on m1, created at T0
        now = T0 + GRACE - 1;
        const young = await create('o1', 'a', { clientId: 'young' });
        await setSpec({ members: [member('m1', 10), member('m2', 10)], strategy: 'breadth-first' });
        const onM2 = await create('o1', 'a', { clientId: 'm2' });
        expect(onM2.member).toBe('m2');
        now = T0 + GRACE;
        const r = value(await store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, 'ghost', onM2.id], ended: [g2!.id] }));
        expect(r).toEqual({ renewed: 2, released: 1, expired: 3, unknown: ['ghost', onM2.id], releasedLeases: [ended(g2!)], expiredLeases: [g3!, g4!, g5!].map(ended) });
        expect(value(await store.get('p', g0!.id)).expiresAt).toBe(now + TTL);
        expect(await store.get('p', g2!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(await store.get('p', g3!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        expect(value(await store.get('p', young.id))).toEqual(young);
        expect(value(await store.get('p', onM2.id))).toEqual(onM2);
        expect(await counts()).toEqual({ active: 4, members: { m1: 3, m2: 1 }, agencies: { a: 4, b: 0 } });
      });

      it('reported ids that are expired are reclaimed and counted as expired, in either list', async () => {
        const [g0, g1, g2, g3, g4, g5] = await fleet();
        now = T0 + 1_000;
        value(await store.heartbeat('p', g2!.id));
        now = T0 + TTL;
        const r = value(await store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g2!.id], ended: [g1!.id] }));
        // Reported ones as handled (ended first), then the unreported in expiry order.
        expect(r).toEqual({ renewed: 1, released: 0, expired: 5, unknown: [], releasedLeases: [], expiredLeases: [g1!, g0!, g3!, g4!, g5!].map(ended) });
        expect((await snap()).active).toBe(1);
      });

      it('handles each reported id once, ended before active', async () => {
        const [g0, g1] = await fleet();
        const r = value(
          await store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, g0!.id, 'x', 'x'], ended: [g1!.id, g1!.id, 'y'] }),
        );
        expect(r).toEqual({ renewed: 1, released: 1, expired: 0, unknown: ['y', 'x'], releasedLeases: [ended(g1!)], expiredLeases: [] });
        expect(await store.get('p', g1!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
        expect((await snap()).active).toBe(5);
      });

      it('an empty report expires every lease of the member past the grace, and only of that member', async () => {
        const gs = await fleet();
        await setSpec({ strategy: 'breadth-first' });
        const onM2 = await create('o2');
        now = T0 + GRACE;
        expect(value(await store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [] }))).toEqual({
          renewed: 0,
          released: 0,
          expired: 6,
          unknown: [],
          releasedLeases: [],
          expiredLeases: gs.map(ended),
        });
        expect(await counts()).toEqual({ active: 1, members: { m1: 0, m2: 1 }, agencies: { a: 1, b: 0 } });
        expect(value(await store.get('p', onM2.id))).toEqual(onM2);
      });

      it('works for a member in drain; an unknown member is unknown-member', async () => {
        const [g0] = await fleet();
        await setSpec({ members: [member('m1', 10, 'drain'), member('m2', 10)] });
        now += 1_000;
        const r = value(await store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id], ended: [] }));
        expect(r.renewed).toBe(1);
        expect(await store.bulkRenew({ pool: 'p', member: 'm9', active: [g0!.id], ended: [] })).toEqual({ ok: false, failure: 'unknown-member' });
        expect(value(await store.get('p', g0!.id)).expiresAt).toBe(now + TTL);
      });
    });

    describe('priority classes and headroom', () => {
      const crisis = { class: 'crisis', rank: 100 };
      const staff = { class: 'standard', rank: 0 };

      it('ordinary requests leave the headroom free; the class it is reserved for (or higher) may use it', async () => {
        await open([pool({ members: [member('m1', 4)], headroom: [{ class: 'crisis', rank: 100, slots: 2 }] })]);
        await create('o1', 'a', { priority: staff });
        await create('o2', 'a', { priority: staff });
        expect(await refusal(cmd('o3', 'a', { priority: staff }))).toEqual({ code: 'headroom-reserved', retryAfterSeconds: RETRY });
        expect((await refusal(cmd('o3'))).code).toBe('headroom-reserved'); // no class: rank 0
        await create('o4', 'b', { priority: crisis });
        await create('o5', 'b', { priority: { class: 'top', rank: 200 } });
        expect((await refusal(cmd('o6', 'b', { priority: crisis }))).code).toBe('pool-full');
        expect((await snap()).headroom).toEqual([{ class: 'crisis', rank: 100, slots: 2, inUse: 2 }]);
      });

      it('nested bands: a class may use its own band and those below it; pool reads show each band’s use', async () => {
        await open([
          pool({
            members: [member('m1', 6)],
            headroom: [
              { class: 'crisis', rank: 100, slots: 1 },
              { class: 'support', rank: 50, slots: 2 },
            ],
          }),
        ]);
        for (let i = 0; i < 3; i++) await create(`s${i}`);
        expect((await refusal(cmd('x'))).code).toBe('headroom-reserved');
        await create('sup1', 'a', { priority: { class: 'support', rank: 50 } });
        expect((await snap()).headroom.map((h) => h.inUse)).toEqual([0, 1]);
        await create('sup2', 'a', { priority: { class: 'support', rank: 50 } });
        expect((await refusal(cmd('sup3', 'a', { priority: { class: 'support', rank: 50 } }))).code).toBe('headroom-reserved');
        await create('c1', 'a', { priority: crisis });
        expect((await snap()).headroom).toEqual([
          { class: 'crisis', rank: 100, slots: 1, inUse: 1 },
          { class: 'support', rank: 50, slots: 2, inUse: 2 },
        ]);
      });

      it('guarantees are checked first (capacity-reserved), the headroom after them', async () => {
        await open([pool({ members: [member('m1', 4)], agencies: [share('a', 0, 9), share('b', 2, 9)], headroom: [{ class: 'crisis', rank: 100, slots: 1 }] })]);
        await create('o1', 'a');
        expect((await refusal(cmd('o2', 'a'))).code).toBe('headroom-reserved'); // free 3 − b's 2 − headroom 1
        await create('o2', 'a', { priority: crisis });
        expect((await refusal(cmd('o3', 'a', { priority: crisis }))).code).toBe('capacity-reserved');
        await create('o4', 'b');
        expect((await refusal(cmd('o5', 'b'))).code).toBe('headroom-reserved');
        await create('o5', 'b', { priority: crisis });
      });
    });

    describe('waiting room', () => {
      const room = { claimWindowMs: 30_000, checkInMs: 20_000, maxWaiters: 3, admissionsPerSecond: null };
      const changes: unknown[][] = [];
      let off: (() => void) | undefined;
      afterEach(() => {
        off?.();
        changes.length = 0;
      });

      async function openRoom(overrides: Partial<PoolSpec> = {}, options: Partial<LeaseStoreOptions> = {}): Promise<void> {
        await open([pool({ members: [member('m1', 1)], waitingRoom: room, ...overrides })], options);
        off = store.onWaitingChange((c) => changes.push(c));
      }

      async function queue(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}) {
        const r = await grant(cmd(owner, agency, { wait: true, ...extra }));
        if (r.outcome !== 'queued') throw new Error(`expected queued, got ${r.outcome}${r.outcome === 'refused' ? ` (${r.code})` : ''}`);
        return r.ticket;
      }

      it('a full pool puts a request that asks to wait in line; without asking it is refused as before', async () => {
        await openRoom();
        await create('o1');
        expect((await refusal(cmd('o2'))).code).toBe('pool-full');
        now += 5;
        const t = await queue('o2', 'a', { newGrantId: 'p.t2', priority: { class: 'standard', rank: 0 } });
        expect(t).toEqual({
          id: 'p.t2',
          pool: 'p',
          owner: 'o2',
          agency: 'a',
          clientId: 'c1',
          priorityClass: 'standard',
          rank: 0,
          reason: 'pool-full',
          joinedAt: T0 + 5,
          state: 'waiting',
          position: 1,
          checkInBy: T0 + 5 + 20_000,
          offer: null,
          estimatedWaitMs: null,
        });
        expect((await queue('o3')).position).toBe(2);
        // Asking again returns the same ticket, waiting or not.
        expect(await grant(cmd('o2'))).toEqual({ outcome: 'queued', ticket: t, expired: [] });
        const s = await snap();
        expect([s.waiting, s.offered, s.active]).toEqual([2, 0, 1]);
      });

      it('a freed slot is offered to the head of the line in the same step; the claim turns the offer into the grant', async () => {
        await openRoom();
        const g = await create('o1');
        const t2 = await queue('o2', 'a', { newGrantId: 'p.t2' });
        const t3 = await queue('o3', 'a', { newGrantId: 'p.t3' });
        now += 1_000;
        value(await store.release('p', g.id, 'o1'));
        expect(changes.flat()).toEqual([{ kind: 'offered', ticket: { ...t2, state: 'offered', position: 0, checkInBy: now + 30_000, offer: { member: 'm1', until: now + 30_000 } } }]);
        // The slot is held: a direct request does not get it, and the snapshot counts the offer.
        expect((await refusal(cmd('o9'))).code).toBe('pool-full');
        const s = await snap();
        expect([s.active, s.waiting, s.offered, s.free]).toEqual([1, 1, 1, 0]);
        expect(value(await store.getTicket('p', t3.id, 'o3')).position).toBe(1);
        expect(await store.claim('p', t3.id, 'o3')).toEqual({ ok: false, failure: 'offer-not-ready' });
        expect(await store.claim('p', t2.id, 'o3')).toEqual({ ok: false, failure: 'ticket-not-found' });
        now += 2_000;
        const claimed = value(await store.claim('p', t2.id, 'o2'));
        expect(claimed).toEqual({ id: 'p.t2', pool: 'p', member: 'm1', agency: 'a', owner: 'o2', clientId: 'c1', fencingToken: fence(1, now), createdAt: now, expiresAt: now + TTL, ttlMs: TTL });
        expect(value(await store.claim('p', t2.id, 'o2'))).toEqual(claimed); // a repeated claim
        expect(value(await store.get('p', t2.id, 'o2'))).toEqual(claimed);
        expect([(await snap()).active, (await snap()).offered]).toEqual([1, 0]);
      });

      it('an unclaimed offer passes to the next waiter when its claim window ends', async () => {
        await openRoom();
        const g = await create('o1');
        const t2 = await queue('o2');
        const t3 = await queue('o3');
        value(await store.release('p', g.id));
        now += 15_000;
        value(await store.checkIn('p', t3.id, 'o3'));
        now += 14_999;
        value(await store.checkIn('p', t3.id, 'o3'));
        now += 1;
        changes.length = 0;
        expect(await store.reap('p', 10)).toEqual([]);
        expect(changes.flat()).toEqual([
          { kind: 'left', pool: 'p', ticketId: t2.id, owner: 'o2', reason: 'offer-expired' },
          { kind: 'offered', ticket: expect.objectContaining({ id: t3.id, state: 'offered', offer: { member: 'm1', until: now + 30_000 } }) },
        ]);
        expect(await store.claim('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
      });

      it('a claim after the claim window: offer-expired, and the slot goes on to the next', async () => {
        await openRoom();
        const g = await create('o1');
        const t2 = await queue('o2');
        const t3 = await queue('o3');
        value(await store.release('p', g.id));
        now += 19_000;
        value(await store.checkIn('p', t3.id, 'o3'));
        now += 11_000;
        expect(await store.claim('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'offer-expired' });
        expect(value(await store.getTicket('p', t3.id)).state).toBe('offered');
      });

      it('a waiter who stops checking in drops out; one who checks in keeps their place', async () => {
        await openRoom();
        await create('o1');
        const t2 = await queue('o2');
        const t3 = await queue('o3');
        now += 19_999;
        const r = value(await store.checkIn('p', t3.id, 'o3'));
        expect([r.ticket.position, r.ticket.checkInBy]).toEqual([2, now + 20_000]);
        now += 1;
        expect(await store.getTicket('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
        expect(value(await store.checkIn('p', t3.id, 'o3')).ticket.position).toBe(1);
        expect(changes.flat()).toEqual([{ kind: 'left', pool: 'p', ticketId: t2.id, owner: 'o2', reason: 'missed-check-in' }]);
        expect((await snap()).waiting).toBe(1);
      });

      it('leaving the line, and declining an offer, which goes to the next', async () => {
        await openRoom();
        const g = await create('o1');
        const t2 = await queue('o2');
        const t3 = await queue('o3');
        const t4 = await queue('o4');
        expect(await store.leave('p', t3.id, 'o3')).toEqual({ ok: true, value: null });
        expect(value(await store.getTicket('p', t4.id)).position).toBe(2);
        value(await store.release('p', g.id));
        expect(await store.leave('p', t2.id, 'o2')).toEqual({ ok: true, value: null });
        expect(value(await store.getTicket('p', t4.id)).state).toBe('offered');
        expect(await store.leave('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
      });

      it('first come first served within a class; a higher class goes first; the head that cannot be admitted is passed', async () => {
        await openRoom({ members: [member('m1', 2)], agencies: [share('a', 0, 1), share('b', 0, 9)] });
        const ga = await create('a1', 'a');
        const gb = await create('b1', 'b');
        const tA = await queue('a2', 'a'); // agency a is at its maximum: passed while it is
        const tB = await queue('b2', 'b');
        const tC = await queue('b3', 'b', { priority: { class: 'crisis', rank: 100 } });
        expect([tA, tB, tC].map((t) => t.position)).toEqual([1, 2, 1]);
        value(await store.release('p', gb.id));
        expect(value(await store.getTicket('p', tC.id)).state).toBe('offered');
        value(await store.claim('p', tC.id, 'b3'));
        value(await store.release('p', ga.id));
        expect(value(await store.getTicket('p', tA.id)).state).toBe('offered');
        expect(value(await store.getTicket('p', tB.id)).position).toBe(1);
      });

      it('the line is bounded: beyond maxWaiters a request is refused waiting-room-full', async () => {
        await openRoom();
        await create('o1');
        for (const o of ['o2', 'o3', 'o4']) await queue(o);
        expect(await refusal(cmd('o5', 'a', { wait: true }))).toEqual({ code: 'waiting-room-full', retryAfterSeconds: RETRY });
      });

      it('raising capacity offers the new slots to the line in the same step', async () => {
        await openRoom();
        await create('o1');
        const t2 = await queue('o2');
        const t3 = await queue('o3');
        await setSpec({ members: [member('m1', 3)] });
        expect(changes.flat().map((c) => (c as { kind: string }).kind)).toEqual(['offered', 'offered']);
        expect(value(await store.getTicket('p', t2.id)).offer).toEqual({ member: 'm1', until: now + 30_000 });
        expect(value(await store.getTicket('p', t3.id)).state).toBe('offered');
      });

      it('estimates the wait from the recent pace of offers', async () => {
        await openRoom({ members: [member('m1', 2)] });
        const g1 = await create('o1');
        const g2 = await create('o2');
        const t3 = await queue('o3');
        const t4 = await queue('o4');
        const t5 = await queue('o5');
        now += 15_000;
        for (const [t, o] of [[t3, 'o3'], [t4, 'o4']] as const) value(await store.checkIn('p', t.id, o));
        expect(value(await store.checkIn('p', t5.id, 'o5')).ticket.estimatedWaitMs).toBe(null); // nothing moved yet
        now += 5_000;
        value(await store.release('p', g1.id));
        now += 10_000;
        value(await store.release('p', g2.id));
        expect(value(await store.getTicket('p', t3.id)).state).toBe('offered');
        // Two offers in the 10 s since the bucket of the first one began: 5 s a place.
        expect(value(await store.getTicket('p', t5.id))).toMatchObject({ position: 1, estimatedWaitMs: 5_000 });
        expect(value(await store.getTicket('p', t4.id))).toMatchObject({ state: 'offered', estimatedWaitMs: null });
      });
    });

    describe('admission rate cap', () => {
      it('over the cap a request waits (asked or not) and gets an offer as the bucket refills; nobody jumps the line', async () => {
        await open([pool({ waitingRoom: { claimWindowMs: 30_000, checkInMs: 20_000, maxWaiters: 100, admissionsPerSecond: 2 } })]);
        await create('o1');
        await create('o2', 'b');
        const r = await grant(cmd('o3'));
        expect(r.outcome === 'queued' && [r.ticket.reason, r.ticket.position]).toEqual(['admission-rate', 1]);
        const r4 = await grant(cmd('o4'));
        now += 499;
        expect((await grant(cmd('o5'))).outcome).toBe('queued'); // 0.998 of a token
        now += 1;
        // One token: the head of the line gets it before the new request does.
        const r6 = await grant(cmd('o6'));
        expect(r6.outcome === 'queued' && r6.ticket.position).toBe(3);
        expect(r.outcome === 'queued' && value(await store.getTicket('p', r.ticket.id)).state).toBe('offered');
        now += 500;
        expect(r4.outcome === 'queued' && value(await store.checkIn('p', r4.ticket.id, 'o4')).ticket.state).toBe('offered');
      });
    });

    describe('audit records', () => {
      // Both stores (and the model) write the same records, field for field, in the same order:
      // docs/admission.md, "Audit records". Only the record ids may differ.
      it('the same operations write the same records, every field, in the order they happened', async () => {
        const room = { claimWindowMs: 10_000, checkInMs: 20_000, maxWaiters: 10, admissionsPerSecond: null };
        await open([pool({ members: [member('m1', 1), member('m2', 1)], waitingRoom: room })]);
        const crisis = { class: 'crisis', rank: 100 };
        const id = (n: string) => `p.${n}`;
        const g = (owner: string, agency: string, n: string, extra: Partial<GrantCommand> = {}) => grant(cmd(owner, agency, { newGrantId: id(n), ...extra }));

        await g('o1', 'a', 'g1'); // granted on m1
        await g('o1', 'a', 'g1b'); // reconnected
        await g('o2', 'b', 'g2', { priority: crisis }); // granted on m2, class crisis
        await g('o3', 'a', 'x3'); // refused pool-full
        await g('o3', 'a', 't3', { wait: true }); // queued
        await g('o4', 'b', 't4', { wait: true, priority: crisis }); // queued, crisis: ahead of t3
        await g('o5', 'a', 't5', { wait: true }); // queued
        now = T0 + 1_000;
        value(await store.leave('p', id('t5'), 'o5')); // left
        value(await store.release('p', id('g1'), 'o1')); // released by the owner; offered to t4
        now = T0 + 2_000;
        value(await store.leave('p', id('t4'), 'o4')); // declined; offered to t3
        now = T0 + 13_000;
        expect(await store.claim('p', id('t3'), 'o3')).toEqual({ ok: false, failure: 'offer-expired' });
        await g('o6', 'a', 'g6'); // granted on m1
        value(await store.release('p', id('g2'))); // released by an operator
        await g('o7', 'b', 'g7'); // granted on m2
        now = T0 + 73_000;
        value(await store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [id('g6')] })); // released by the agent
        value(await store.bulkRenew({ pool: 'p', member: 'm2', active: [], ended: [] })); // g7 unreported, past the grace: expired
        await g('o8', 'a', 'g8');
        await g('o9', 'b', 'g9');
        now = T0 + 193_000;
        expect(await store.heartbeat('p', id('g8'), 'o8')).toEqual({ ok: false, failure: 'lease-expired' });
        await store.reap('p', 10); // g9
        await g('o10', 'a', 'g10');
        await g('o11', 'b', 'g11');
        await g('o12', 'a', 't12', { wait: true });
        now = T0 + 213_000;
        await store.reap('p', 10); // t12 missed its check-in

        const records = [];
        for (let after: string | undefined; ; ) {
          const page = await store.readAudit('p', { fromMs: 0, toMs: T0 * 2, limit: 7, ...(after !== undefined ? { after } : {}) });
          records.push(...page.records);
          if (page.next === null) break;
          after = page.next;
        }
        const fields = records.map(({ id: _id, ...f }) => f);
        const at = (ms: number) => String(T0 + ms);
        const r = (t: number, ev: string, f: Record<string, string> = {}) => ({ t: at(t), ev, own: '', ag: '', m: '', g: '', code: '', pc: '', by: '', act: '', d: '', ...f });
        expect(fields).toEqual([
          r(0, 'granted', { own: 'o1', ag: 'a', m: 'm1', g: id('g1'), d: `{"fence":${fence(1, T0 + 0)}}` }),
          r(0, 'reconnected', { own: 'o1', ag: 'a', m: 'm1', g: id('g1') }),
          r(0, 'granted', { own: 'o2', ag: 'b', m: 'm2', g: id('g2'), pc: 'crisis', d: `{"fence":${fence(2, T0 + 0)}}` }),
          r(0, 'refused', { own: 'o3', ag: 'a', code: 'pool-full' }),
          r(0, 'queued', { own: 'o3', ag: 'a', g: id('t3'), d: '{"reason":"pool-full"}' }),
          r(0, 'queued', { own: 'o4', ag: 'b', g: id('t4'), pc: 'crisis', d: '{"reason":"pool-full"}' }),
          r(0, 'queued', { own: 'o5', ag: 'a', g: id('t5'), d: '{"reason":"pool-full"}' }),
          r(1_000, 'left-queue', { own: 'o5', ag: 'a', g: id('t5'), d: '{"reason":"left"}' }),
          r(1_000, 'released', { own: 'o1', ag: 'a', m: 'm1', g: id('g1'), d: '{"via":"owner"}' }),
          r(1_000, 'offered', { own: 'o4', ag: 'b', m: 'm1', g: id('t4'), pc: 'crisis', d: `{"until":${T0 + 11_000}}` }),
          r(2_000, 'left-queue', { own: 'o4', ag: 'b', m: 'm1', g: id('t4'), pc: 'crisis', d: '{"reason":"declined"}' }),
          r(2_000, 'offered', { own: 'o3', ag: 'a', m: 'm1', g: id('t3'), d: `{"until":${T0 + 12_000}}` }),
          r(13_000, 'offer-expired', { own: 'o3', ag: 'a', m: 'm1', g: id('t3') }),
          r(13_000, 'granted', { own: 'o6', ag: 'a', m: 'm1', g: id('g6'), d: `{"fence":${fence(1, T0 + 13000)}}` }),
          r(13_000, 'released', { own: 'o2', ag: 'b', m: 'm2', g: id('g2'), d: '{"via":"operator"}' }),
          r(13_000, 'granted', { own: 'o7', ag: 'b', m: 'm2', g: id('g7'), d: `{"fence":${fence(2, T0 + 13000)}}` }),
          r(73_000, 'released', { own: 'o6', ag: 'a', m: 'm1', g: id('g6'), d: '{"via":"agent"}' }),
          r(73_000, 'renewed', { m: 'm1', d: '{"renewed":0,"released":1,"expired":0,"unknown":0}' }),
          r(73_000, 'expired', { own: 'o7', ag: 'b', m: 'm2', g: id('g7'), d: '{"via":"agent"}' }),
          r(73_000, 'renewed', { m: 'm2', d: '{"renewed":0,"released":0,"expired":1,"unknown":0}' }),
          r(73_000, 'granted', { own: 'o8', ag: 'a', m: 'm1', g: id('g8'), d: `{"fence":${fence(1, T0 + 73000)}}` }),
          r(73_000, 'granted', { own: 'o9', ag: 'b', m: 'm2', g: id('g9'), d: `{"fence":${fence(2, T0 + 73000)}}` }),
          r(193_000, 'expired', { own: 'o8', ag: 'a', m: 'm1', g: id('g8') }),
          r(193_000, 'expired', { own: 'o9', ag: 'b', m: 'm2', g: id('g9') }),
          r(193_000, 'granted', { own: 'o10', ag: 'a', m: 'm1', g: id('g10'), d: `{"fence":${fence(1, T0 + 193000)}}` }),
          r(193_000, 'granted', { own: 'o11', ag: 'b', m: 'm2', g: id('g11'), d: `{"fence":${fence(2, T0 + 193000)}}` }),
          r(193_000, 'queued', { own: 'o12', ag: 'a', g: id('t12'), d: '{"reason":"pool-full"}' }),
          r(213_000, 'left-queue', { own: 'o12', ag: 'a', g: id('t12'), d: '{"reason":"missed-check-in"}' }),
        ]);
        // Ids as a Redis Stream's: <ms>-<seq>, strictly increasing.
        const ids = records.map((x) => x.id.split('-').map(Number) as [number, number]);
        for (const x of ids) expect(x.every(Number.isInteger)).toBe(true);
        for (let i = 1; i < ids.length; i++) expect(ids[i]![0] > ids[i - 1]![0] || (ids[i]![0] === ids[i - 1]![0] && ids[i]![1] > ids[i - 1]![1])).toBe(true);
      });
    });

    describe('snapshot', () => {
      it('reports capacity, active, free, per member and per agency', async () => {
        await open([
          pool({
            name: 'Desktops',
            kind: 'vdi',
            strategy: 'depth-first',
            members: [{ id: 'm1', host: 'h1.example', maxSessions: 3, state: 'active' }, member('m2', 2), member('m3', 4)],
            agencies: [share('a', 1, 9), share('b', 0, 9)],
            perEmployeeLimit: 2,
          }),
        ]);
        await create('o1', 'a');
        await create('o2', 'a');
        await create('o3', 'b');
        await create('o4', 'b');
        now += 7;
        expect(await snap()).toEqual({
          id: 'p',
          kind: 'vdi',
          name: 'Desktops',
          strategy: 'depth-first',
          licenceLimit: null,
          capacity: 9,
          active: 4,
          free: 5,
          perEmployeeLimit: 2,
          leaseTtlMs: TTL,
          members: [
            { id: 'm1', host: 'h1.example', state: 'active', maxSessions: 3, active: 3 },
            { id: 'm2', state: 'active', maxSessions: 2, active: 1 },
            { id: 'm3', state: 'active', maxSessions: 4, active: 0 },
          ],
          agencies: [
            { id: 'a', guaranteed: 1, maximum: 9, active: 2 },
            { id: 'b', guaranteed: 0, maximum: 9, active: 2 },
          ],
          waiting: 0,
          offered: 0,
          headroom: [],
          at: T0 + 7,
        });
        await setSpec({ members: [member('m1', 3), member('m2', 2, 'drain'), member('m3', 4, 'out-of-service')], licenceLimit: 6 });
        const s = await snap();
        expect([s.capacity, s.active, s.free, s.licenceLimit]).toEqual([3, 4, 0, 6]);
        expect(s.members.map((m) => [m.state, m.active])).toEqual([
          ['active', 3],
          ['drain', 1],
          ['out-of-service', 0],
        ]);
      });

      it('free is the smaller of member room and licence room, and never below 0', async () => {
        await open([pool({ members: [member('m1', 5), member('m2', 5)], licenceLimit: 8 })]);
        for (let i = 0; i < 4; i++) await create(`o${i}`);
        let s = await snap();
        expect([s.capacity, s.free]).toEqual([8, 4]);
        await setSpec({ members: [member('m1', 5), member('m2', 1)] });
        s = await snap();
        expect([s.capacity, s.free]).toEqual([6, 3]); // m1 has 2 (3 free), m2 has 2 of 1 (0 free)
        await setSpec({ licenceLimit: 2 });
        s = await snap();
        expect([s.capacity, s.active, s.free]).toEqual([2, 4, 0]);
      });
    });
  });
}
