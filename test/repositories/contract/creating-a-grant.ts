import { poolSpec as pool } from '../../support/pool-spec';
import { fence, T0, TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: creating a grant. */
export function describeCreatingAGrant(h: ContractHarness): void {
  const { open, grant, create, counts } = h;
  describe('creating a grant', () => {
    it('returns a lease with every field set from the command, the pool and store time', async () => {
      await open([pool()]);
      h.now = T0 + 5;
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
      expect(await h.store.now()).toBe(T0 + 5);
    });

    it('issues strictly increasing fencing tokens per pool, never reusing one after a release', async () => {
      await open([pool({ perEmployeeLimit: 10 }), pool({ id: 'q' })]);
      const tokens: number[] = [];
      for (let i = 0; i < 4; i++) {
        const g = await create('o1', 'a', { clientId: `c${i}` });
        tokens.push(g.fencingToken);
        if (i % 2 === 0) value(await h.store.release('p', g.id));
      }
      expect(tokens).toEqual([fence(1), fence(2), fence(3), fence(4)]);
      const q = await create('o1', 'a', { pool: 'q' });
      expect(q.fencingToken).toBe(fence(1));
      expect((await create('o2')).fencingToken).toBe(fence(5));
      // Time moves on: the next token is at least store time × FENCE_PER_MS, above all before it.
      h.now += 3;
      expect((await create('o3')).fencingToken).toBe(fence(1, T0 + 3));
    });
  });
}
