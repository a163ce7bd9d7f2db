import type { Grant } from '../../../src/domain/grant';
import { member, poolSpec as pool, share } from '../../support/pool-spec';
import { T0, TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: expiry. */
export function describeExpiry(h: ContractHarness): void {
  const { open, cmd, grant, create, refusal, snap, counts } = h;
  describe('expiry', () => {
    it('an admission reclaims expired leases, oldest expiry first, and capacity returns without release', async () => {
      await open([pool({ members: [member('m1', 3)] })]);
      const g1 = await create('o1');
      h.now += 10;
      const g2 = await create('o2');
      h.now += 10;
      const g3 = await create('o3');
      h.now += 10;
      value(await h.store.heartbeat('p', g1.id)); // g1 now expires last
      expect((await refusal(cmd('o4'))).code).toBe('pool-full');
      h.now = T0 + 30 + TTL;
      expect((await snap()).active).toBe(3);
      const r = await grant(cmd('o4'));
      expect(r.outcome).toBe('created');
      const ex = (g: Grant) => ({ id: g.id, pool: 'p', member: 'm1', agency: 'a', owner: g.owner });
      expect(r.expired).toEqual([ex(g2), ex(g3), ex(g1)]);
      expect(await counts()).toEqual({ active: 1, members: { m1: 1 }, agencies: { a: 1, b: 0 } });
    });

    it('an admission reclaims a lease that expires sooner than every lease held before it (the TTL lowered meanwhile)', async () => {
      await open([pool({ members: [member('m1', 2)], leaseTtlMs: TTL })]);
      const long = await create('o1');
      h.now += 1_000;
      expect((await refusal(cmd('o9', 'zz'))).code).toBe('not-entitled'); // an admission that reaps nothing
      await h.setSpec({ leaseTtlMs: 5_000 });
      const short = await create('o2');
      expect(short.expiresAt).toBeLessThan(long.expiresAt);
      expect((await refusal(cmd('o3'))).code).toBe('pool-full');
      h.now = short.expiresAt;
      const r = await grant(cmd('o3'));
      expect(r.outcome).toBe('created');
      expect(r.expired.map((e) => e.id)).toEqual([short.id]);
      // and again once that one is due, sooner than the first lease still
      const third = r.outcome === 'created' ? r.grant : null;
      h.now = third!.expiresAt;
      const r2 = await grant(cmd('o4'));
      expect(r2.outcome === 'created' && r2.expired.map((e) => e.id)).toEqual([third!.id]);
      expect((await snap()).active).toBe(2);
    });

    it('an admission reclaims at most reapBatch; refusals report what they reclaimed too', async () => {
      await open([pool({ members: [member('m1', 3)], agencies: [share('a', 0, 100), share('b', 0, 100)] })], { reapBatch: 2 });
      const gs = [await create('o1'), await create('o2'), await create('o3')];
      h.now += TTL;
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

    it('nextExpiryIn(pool) tells how long until the soonest lease over all members expires: null without leases, 0 once one is due', async () => {
      await open([pool({ members: [member('m1', 3), member('m2', 3)] })]);
      expect(await h.store.nextExpiryIn('p')).toBeNull();
      expect(await h.store.nextExpiryIn('nope')).toBeNull();
      const g1 = await create('o1');
      h.now += 1_000;
      await create('o2');
      expect(await h.store.nextExpiryIn('p')).toBe(TTL - 1_000);
      h.now += 500;
      value(await h.store.heartbeat('p', g1.id)); // g1 now expires last: the soonest is o2's, on the other member
      expect(await h.store.nextExpiryIn('p')).toBe(TTL - 500);
      h.now += TTL;
      expect(await h.store.nextExpiryIn('p')).toBe(0);
      expect(await h.store.reap('p', 10)).toHaveLength(2);
      expect(await h.store.nextExpiryIn('p')).toBeNull();
    });

    it('leases that expire at the same instant are reclaimed in grant-id order', async () => {
      await open([pool()]);
      const b = await create('o1', 'a', { newGrantId: 'id-b' });
      const c = await create('o2', 'a', { newGrantId: 'id-c' });
      const a = await create('o3', 'a', { newGrantId: 'id-a' });
      h.now += TTL;
      expect((await h.store.reap('p', 10)).map((e) => e.id)).toEqual([a.id, b.id, c.id]);
    });

    it('reap(pool, limit) reclaims up to limit expired leases, oldest first, leaving live ones', async () => {
      await open([pool()]);
      const g1 = await create('o1', 'a');
      h.now += 1_000;
      const g2 = await create('o2', 'b');
      h.now += 1_000;
      const g3 = await create('o3', 'a');
      expect(await h.store.reap('p', 10)).toEqual([]);
      h.now = g2.expiresAt;
      expect(await h.store.reap('p', 1)).toEqual([{ id: g1.id, pool: 'p', member: g1.member, agency: 'a', owner: 'o1' }]);
      expect(await h.store.reap('p', 0)).toEqual([]);
      expect(await h.store.reap('p', 5)).toEqual([{ id: g2.id, pool: 'p', member: g2.member, agency: 'b', owner: 'o2' }]);
      expect(value(await h.store.get('p', g3.id))).toEqual(g3);
      expect(await counts()).toEqual({ active: 1, members: { m1: 1, m2: 0 }, agencies: { a: 1, b: 0 } });
    });

    it('a lease is live until expiresAt and expired at expiresAt', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now = g.expiresAt - 1;
      expect(await h.store.reap('p', 10)).toEqual([]);
      expect((await grant(cmd('o1'))).outcome).toBe('reconnected');
      h.now = g.expiresAt - 1 + TTL;
      expect((await h.store.reap('p', 10)).map((e) => e.id)).toEqual([g.id]);
    });
  });
}
