import { member, poolSpec as pool, share } from '../../support/pool-spec';
import { RETRY, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: priority classes and headroom. */
export function describePriorityClassesAndHeadroom(h: ContractHarness): void {
  const { open, cmd, create, refusal, snap } = h;
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
}
