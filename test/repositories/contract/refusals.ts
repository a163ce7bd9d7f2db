import { member, poolSpec as pool, share } from '../../support/pool-spec';
import { T0, fence, TTL, RETRY, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: refusals. */
export function describeRefusals(h: ContractHarness): void {
  const { open, cmd, grant, create, refusal, snap, setSpec } = h;
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
      value(await h.store.release('p', phone.id, 'o1'));
      await create('o1', 'a', { clientId: 'tablet' });
    });

    it('employee-at-limit does not count expired, not yet reclaimed leases', async () => {
      await open([pool({ perEmployeeLimit: 1 })], { reapBatch: 1 });
      await create('o2'); // expires first, so it is the one the next admission reclaims
      h.now += 1;
      await create('o1', 'a', { clientId: 'laptop' });
      h.now += TTL;
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
}
