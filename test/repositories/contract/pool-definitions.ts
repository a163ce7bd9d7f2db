import { member, poolSpec as pool } from '../../support/pool-spec';
import { fence, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: pool definitions. */
export function describePoolDefinitions(h: ContractHarness): void {
  const { open, cmd, create, refusal, snap, counts, setSpec } = h;
  describe('pool definitions', () => {
    it('stores specs as given and answers null for an unknown pool', async () => {
      const spec = pool({ name: 'VPN', members: [{ id: 'm1', host: 'gw1.example', maxSessions: 3, state: 'drain' }], licenceLimit: 7 });
      await open([spec, pool({ id: 'q', kind: 'vdi', strategy: 'depth-first' })]);
      expect(await h.store.getPoolSpec('p')).toEqual(spec);
      expect(await h.store.getPoolSpec('q')).toEqual(pool({ id: 'q', kind: 'vdi', strategy: 'depth-first' }));
      expect(await h.store.getPoolSpec('nope')).toBeNull();
    });

    it('leaves pools that are not listed alone', async () => {
      await open([pool(), pool({ id: 'q' })]);
      await h.store.syncPools([pool({ id: 'q', perEmployeeLimit: 3 })]);
      expect(await h.store.getPoolSpec('p')).toEqual(pool());
      expect((await h.store.getPoolSpec('q'))!.perEmployeeLimit).toBe(3);
    });

    it('keeps counts, leases and the fence when capacities change; lowering a maximum cuts nobody off but stops new grants', async () => {
      await open([pool({ members: [member('m1', 3)] })]);
      const g1 = await create('o1');
      const g2 = await create('o2');
      const g3 = await create('o3');
      await setSpec({ members: [member('m1', 2)] });
      expect(await counts()).toEqual({ active: 3, members: { m1: 3 }, agencies: { a: 3, b: 0 } });
      expect(value(await h.store.get('p', g1.id))).toEqual(g1);
      expect((await snap()).free).toBe(0);
      expect((await refusal(cmd('o4'))).code).toBe('pool-full');
      // One released: 2 left, still not below the new maximum of 2.
      value(await h.store.release('p', g3.id));
      expect((await refusal(cmd('o4'))).code).toBe('pool-full');
      value(await h.store.release('p', g2.id));
      const g4 = await create('o4');
      expect(g4.fencingToken).toBe(fence(4));
      // Raising it again lets more in.
      await setSpec({ members: [member('m1', 5)] });
      await create('o5');
      await create('o6');
      expect((await counts()).active).toBe(4);
    });
  });
}
