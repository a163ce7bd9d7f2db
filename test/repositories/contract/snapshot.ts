import { member, poolSpec as pool, share } from '../../support/pool-spec';
import { T0, TTL, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: snapshot. */
export function describeSnapshot(h: ContractHarness): void {
  const { open, create, snap, setSpec } = h;
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
      h.now += 7;
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
}
