import type { Grant } from '../../../src/domain/grant';
import { member, poolSpec as pool } from '../../support/pool-spec';
import { T0, TTL, GRACE, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: bulk renewal. */
export function describeBulkRenewal(h: ContractHarness): void {
  const { open, create, snap, counts, setSpec } = h;
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
      h.now = T0 + GRACE - 1;
      const young = await create('o1', 'a', { clientId: 'young' });
      await setSpec({ members: [member('m1', 10), member('m2', 10)], strategy: 'breadth-first' });
      const onM2 = await create('o1', 'a', { clientId: 'm2' });
      expect(onM2.member).toBe('m2');
      h.now = T0 + GRACE;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, 'ghost', onM2.id], ended: [g2!.id] }));
      expect(r).toEqual({ renewed: 2, released: 1, expired: 3, unknown: ['ghost', onM2.id], releasedLeases: [ended(g2!)], expiredLeases: [g3!, g4!, g5!].map(ended) });
      expect(value(await h.store.get('p', g0!.id)).expiresAt).toBe(h.now + TTL);
      expect(await h.store.get('p', g2!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.get('p', g3!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(value(await h.store.get('p', young.id))).toEqual(young);
      expect(value(await h.store.get('p', onM2.id))).toEqual(onM2);
      expect(await counts()).toEqual({ active: 4, members: { m1: 3, m2: 1 }, agencies: { a: 4, b: 0 } });
    });

    it('reported ids that are expired are reclaimed and counted as expired, in either list', async () => {
      const [g0, g1, g2, g3, g4, g5] = await fleet();
      h.now = T0 + 1_000;
      value(await h.store.heartbeat('p', g2!.id));
      h.now = T0 + TTL;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g2!.id], ended: [g1!.id] }));
      // Reported ones as handled (ended first), then the unreported in expiry order.
      expect(r).toEqual({ renewed: 1, released: 0, expired: 5, unknown: [], releasedLeases: [], expiredLeases: [g1!, g0!, g3!, g4!, g5!].map(ended) });
      expect((await snap()).active).toBe(1);
    });

    it('handles each reported id once, ended before active', async () => {
      const [g0, g1] = await fleet();
      const r = value(
        await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, g0!.id, 'x', 'x'], ended: [g1!.id, g1!.id, 'y'] }),
      );
      expect(r).toEqual({ renewed: 1, released: 1, expired: 0, unknown: ['y', 'x'], releasedLeases: [ended(g1!)], expiredLeases: [] });
      expect(await h.store.get('p', g1!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect((await snap()).active).toBe(5);
    });

    it('an empty report expires every lease of the member past the grace, and only of that member', async () => {
      const gs = await fleet();
      await setSpec({ strategy: 'breadth-first' });
      const onM2 = await create('o2');
      h.now = T0 + GRACE;
      expect(value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [] }))).toEqual({
        renewed: 0,
        released: 0,
        expired: 6,
        unknown: [],
        releasedLeases: [],
        expiredLeases: gs.map(ended),
      });
      expect(await counts()).toEqual({ active: 1, members: { m1: 0, m2: 1 }, agencies: { a: 1, b: 0 } });
      expect(value(await h.store.get('p', onM2.id))).toEqual(onM2);
    });

    it('works for a member in drain; an unknown member is unknown-member', async () => {
      const [g0] = await fleet();
      await setSpec({ members: [member('m1', 10, 'drain'), member('m2', 10)] });
      h.now += 1_000;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id], ended: [] }));
      expect(r.renewed).toBe(1);
      expect(await h.store.bulkRenew({ pool: 'p', member: 'm9', active: [g0!.id], ended: [] })).toEqual({ ok: false, failure: 'unknown-member' });
      expect(value(await h.store.get('p', g0!.id)).expiresAt).toBe(h.now + TTL);
    });
  });
}
