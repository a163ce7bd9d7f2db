import { member, poolSpec as pool } from '../../support/pool-spec';
import { fence, T0, TTL, IDEM_TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: idempotency. */
export function describeIdempotency(h: ContractHarness): void {
  const { open, cmd, grant, create, refusal, snap } = h;
  describe('idempotency', () => {
    it('replays the grant a key created, in its current state, and changes nothing', async () => {
      await open([pool()]);
      const g = await create('o1', 'a', { idempotencyKey: 'k1' });
      h.now += 10_000;
      const beat = value(await h.store.heartbeat('p', g.id, 'o1'));
      h.now += 10_000;
      const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k1', clientId: 'other' }));
      expect(r).toEqual({ outcome: 'replayed', grant: beat, expired: [] });
      expect(value(await h.store.get('p', g.id))).toEqual(beat);
      expect((await snap()).active).toBe(1);
      expect((await create('o2')).fencingToken).toBe(fence(1, T0 + 20_000));
    });

    it('after release or expiry says the grant has ended (as first given), and creates nothing', async () => {
      await open([pool({ perEmployeeLimit: 2 })]);
      const g1 = await create('o1', 'a', { idempotencyKey: 'k1', clientId: 'c1' });
      const g2 = await create('o1', 'a', { idempotencyKey: 'k2', clientId: 'c2' });
      h.now += 1_000;
      value(await h.store.heartbeat('p', g2.id));
      value(await h.store.release('p', g1.id));
      expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k1' }))).toEqual({ outcome: 'ended', grant: g1, expired: [] });
      h.now = g2.expiresAt + 1_000 + 1;
      const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k2' }));
      expect(r).toEqual({ outcome: 'ended', grant: g2, expired: [{ id: g2.id, pool: 'p', member: g2.member, agency: 'a', owner: 'o1' }] });
      expect((await snap()).active).toBe(0);
    });

    it('says an expired, not yet reclaimed lease has ended (as first given)', async () => {
      await open([pool()], { reapBatch: 1 });
      const filler = await create('o2'); // expires first: the one the admission below reclaims
      h.now += 1;
      const g = await create('o1', 'a', { idempotencyKey: 'k1' });
      h.now += 1_000;
      value(await h.store.heartbeat('p', g.id));
      h.now = g.expiresAt + 1_000;
      expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k1' }))).toEqual({
        outcome: 'ended',
        grant: g,
        expired: [{ id: filler.id, pool: 'p', member: filler.member, agency: 'a', owner: 'o2' }],
      });
      expect(await h.store.get('p', g.id)).toEqual({ ok: false, failure: 'lease-expired' });
    });

    it('is remembered per owner and per pool', async () => {
      await open([pool(), pool({ id: 'q' })]);
      const g1 = await create('o1', 'a', { idempotencyKey: 'k' });
      const g2 = await create('o2', 'a', { idempotencyKey: 'k' });
      const g3 = await create('o1', 'a', { idempotencyKey: 'k', pool: 'q' });
      expect(new Set([g1.id, g2.id, g3.id]).size).toBe(3);
    });

    it('does not remember a refusal: a retry is decided anew', async () => {
      await open([pool({ members: [member('m1', 1)] })]);
      const blocker = await create('o1');
      expect((await refusal(cmd('o2', 'a', { idempotencyKey: 'k' }))).code).toBe('pool-full');
      value(await h.store.release('p', blocker.id));
      const r = await grant(cmd('o2', 'a', { idempotencyKey: 'k' }));
      expect(r.outcome).toBe('created');
      expect((await grant(cmd('o2', 'a', { idempotencyKey: 'k' }))).outcome).toBe('replayed');
    });

    it('remembers a key given with a reconnect', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now += 1_000;
      const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k' }));
      expect(r.outcome).toBe('reconnected');
      value(await h.store.release('p', g.id));
      expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k' }))).toEqual({
        outcome: 'ended',
        grant: { ...g, expiresAt: T0 + 1_000 + TTL },
        expired: [],
      });
    });

    it('forgets a key once its time is up', async () => {
      await open([pool({ perEmployeeLimit: 5, leaseTtlMs: 10 * IDEM_TTL })]);
      const g = await create('o1', 'a', { idempotencyKey: 'k' });
      h.now = T0 + IDEM_TTL - 1;
      expect((await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c2' }))).outcome).toBe('replayed');
      h.now = T0 + IDEM_TTL;
      const r = await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c2' }));
      expect(r.outcome).toBe('created');
      expect(r.outcome === 'created' && r.grant.id).not.toBe(g.id);
      // Remembered again, from now.
      expect((await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c3' }))).outcome).toBe('replayed');
    });

    it('replays even when the pool has since filled up', async () => {
      await open([pool({ members: [member('m1', 1)] })]);
      const g = await create('o1', 'a', { idempotencyKey: 'k' });
      expect(await grant(cmd('o1', 'a', { idempotencyKey: 'k', clientId: 'c9' }))).toEqual({ outcome: 'replayed', grant: g, expired: [] });
    });
  });
}
