import { member, poolSpec as pool } from '../../support/pool-spec';
import { fence, TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: reconnect. */
export function describeReconnect(h: ContractHarness): void {
  const { open, cmd, grant, create, counts, setSpec } = h;
  describe('reconnect', () => {
    it('same owner and clientId: the same lease, renewed by its TTL from now, counts unchanged', async () => {
      await open([pool()]);
      const g = await create('o1', 'a', { clientId: 'laptop' });
      h.now += 50_000;
      const r = await grant(cmd('o1', 'a', { clientId: 'laptop' }));
      expect(r).toEqual({ outcome: 'reconnected', grant: { ...g, expiresAt: h.now + TTL }, expired: [] });
      expect(await counts()).toEqual({ active: 1, members: { m1: 1, m2: 0 }, agencies: { a: 1, b: 0 } });
      expect(value(await h.store.get('p', g.id)).expiresAt).toBe(h.now + TTL);
    });

    it('works on a member in drain or out of service', async () => {
      await open([pool({ members: [member('m1', 2)] })]);
      const g = await create('o1');
      await setSpec({ members: [member('m1', 2, 'drain')] });
      expect((await grant(cmd('o1'))).outcome).toBe('reconnected');
      await setSpec({ members: [member('m1', 2, 'out-of-service')] });
      const r = await grant(cmd('o1'));
      expect(r.outcome === 'reconnected' && r.grant.id).toBe(g.id);
    });

    it('renews by the lease’s own TTL even after the pool’s TTL changed', async () => {
      await open([pool()]);
      const g = await create('o1');
      await setSpec({ leaseTtlMs: 5_000 });
      h.now += 1_000;
      const r = await grant(cmd('o1'));
      expect(r.outcome === 'reconnected' && r.grant.expiresAt).toBe(h.now + TTL);
      expect(value(await h.store.heartbeat('p', g.id)).expiresAt).toBe(h.now + TTL);
      const other = await create('o2');
      expect([other.ttlMs, other.expiresAt]).toEqual([5_000, h.now + 5_000]);
    });

    it('a different clientId is a new lease; an expired lease is not reconnected', async () => {
      await open([pool({ perEmployeeLimit: 3 })], { reapBatch: 1 });
      await create('o2'); // expires first: the one the admission below reclaims
      h.now += 1;
      const laptop = await create('o1', 'a', { clientId: 'laptop' });
      const phone = await create('o1', 'a', { clientId: 'phone' });
      expect(phone.id).not.toBe(laptop.id);
      h.now = laptop.expiresAt;
      const again = await create('o1', 'a', { clientId: 'laptop' });
      expect(again.id).not.toBe(laptop.id);
      expect(again.fencingToken).toBe(fence(1, laptop.expiresAt));
      expect(await h.store.get('p', laptop.id)).toEqual({ ok: false, failure: 'lease-expired' });
    });
  });
}
