import { poolSpec as pool } from '../../support/pool-spec';
import { type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: unknown pool. */
export function describeUnknownPool(h: ContractHarness): void {
  const { open, cmd, create, snap } = h;
  describe('unknown pool', () => {
    it('answers unknown-pool (or nothing) from every operation', async () => {
      await open([pool()]);
      expect(await h.store.grant({ ...cmd('o1'), pool: 'nope' })).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.heartbeat('nope', 'g1')).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.release('nope', 'g1', 'o1')).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.get('nope', 'g1')).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.bulkRenew({ pool: 'nope', member: 'm1', active: [], ended: [] })).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.snapshot('nope')).toEqual({ ok: false, failure: 'unknown-pool' });
      expect(await h.store.reap('nope', 10)).toEqual([]);
      expect(await h.store.listByOwner('nope', 'o1')).toEqual([]);
    });

    it('does not see a lease of one pool through another', async () => {
      await open([pool(), pool({ id: 'q' })]);
      const g = await create('o1');
      expect(await h.store.get('q', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.release('q', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect((await snap('q')).active).toBe(0);
    });
  });
}
