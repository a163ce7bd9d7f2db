import { member, poolSpec as pool } from '../../support/pool-spec';
import { value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: choice of member. */
export function describeChoiceOfMember(h: ContractHarness): void {
  const { open, cmd, create, refusal, setSpec } = h;
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
      value(await h.store.release('p', gs[1]!.id));
      expect((await create('o5')).member).toBe('m2');
    });

    it('depth-first: the first member in config order with room', async () => {
      await open([pool({ strategy: 'depth-first', members: [member('m1', 2), member('m2', 2)] })]);
      const gs = [await create('o1'), await create('o2'), await create('o3')];
      expect(gs.map((g) => g.member)).toEqual(['m1', 'm1', 'm2']);
      value(await h.store.release('p', gs[0]!.id));
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
}
