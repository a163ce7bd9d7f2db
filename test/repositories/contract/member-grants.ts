import { member, poolSpec as pool } from '../../support/pool-spec';
import { fence, T0, TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md "Bulk renewal": the live leases of one member, as its gateway agent lists them. */
export function describeMemberGrants(h: ContractHarness): void {
  const { open, create, snap } = h;
  describe('leases of a member', () => {
    const audit = async () => (await h.store.readAudit('p', { fromMs: 0, toMs: T0 + 100 * TTL, limit: 10_000 })).records;

    it('lists exactly the live leases of that member: not another member’s, not expired, not released; soonest expiry first', async () => {
      await open([pool({ strategy: 'breadth-first', members: [member('m1', 10), member('m2', 10)] })]);
      const gs = [];
      for (let i = 0; i < 6; i++) {
        h.now = T0 + i * 1_000;
        gs.push(await create(`o${i}`)); // breadth-first: m1, m2, m1, m2, m1, m2
      }
      const [a1, b1, a2, b2, a3, b3] = gs;
      expect(gs.map((g) => g.member)).toEqual(['m1', 'm2', 'm1', 'm2', 'm1', 'm2']);
      h.now = T0 + 10_000;
      value(await h.store.heartbeat('p', a1!.id)); // a1 now expires last on m1
      value(await h.store.release('p', a3!.id));
      expect(value(await h.store.listByMember('p', 'm1'))).toEqual([
        { id: a2!.id, expiresAt: T0 + 2_000 + TTL },
        { id: a1!.id, expiresAt: T0 + 10_000 + TTL },
      ]);
      expect(value(await h.store.listByMember('p', 'm2'))).toEqual([b1, b2, b3].map((g) => ({ id: g!.id, expiresAt: g!.expiresAt })));

      // b1 and b2 have expired (not yet reclaimed: nothing reaped); a lease at exactly its expiry is not live.
      h.now = T0 + 3_000 + TTL;
      expect(value(await h.store.listByMember('p', 'm2'))).toEqual([{ id: b3!.id, expiresAt: b3!.expiresAt }]);
      expect(value(await h.store.listByMember('p', 'm1'))).toEqual([{ id: a1!.id, expiresAt: T0 + 10_000 + TTL }]);
      h.now = T0 + 20_000 + TTL;
      expect(value(await h.store.listByMember('p', 'm1'))).toEqual([]);
    });

    it('a member in drain still lists what it carries; a pool’s leases are not seen through another pool', async () => {
      await open([pool(), pool({ id: 'q' })]);
      const g = await create('o1');
      await h.setSpec({ members: [member('m1', 10, 'drain'), member('m2', 10)] });
      expect(value(await h.store.listByMember('p', g.member))).toEqual([{ id: g.id, expiresAt: g.expiresAt }]);
      expect(value(await h.store.listByMember('q', g.member))).toEqual([]);
    });

    it('changes nothing: no audit record, no fencing token, no reclaiming of expired leases', async () => {
      await open([pool()]);
      const g = await create('o1');
      await create('o2');
      h.now = T0 + TTL; // g and the other have expired, unreclaimed
      const before = { audit: await audit(), snap: await snap() };
      expect(value(await h.store.listByMember('p', 'm1'))).toEqual([]);
      expect(value(await h.store.listByMember('p', 'm2'))).toEqual([]);
      expect({ audit: await audit(), snap: await snap() }).toEqual(before);
      expect(before.snap.active).toBe(2); // still counted: a read reclaims nothing
      expect(await h.store.get('p', g.id)).toEqual({ ok: false, failure: 'lease-expired' });
      const next = await create('o3'); // the first token of this millisecond: the reads took none
      expect(next.fencingToken).toBe(fence(1, T0 + TTL));
    });

    it('answers unknown-pool and unknown-member', async () => {
      await open([pool()]);
      await create('o1');
      expect(await h.store.listByMember('nope', 'm1')).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.listByMember('p', 'm9')).toEqual({ ok: false, failure: 'unknown-member' });
    });
  });
}
