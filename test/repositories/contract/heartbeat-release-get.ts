import { member, poolSpec as pool } from '../../support/pool-spec';
import { T0, TTL, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: heartbeat, release, get. */
export function describeHeartbeatReleaseGet(h: ContractHarness): void {
  const { open, create, snap, counts } = h;
  describe('heartbeat, release, get', () => {
    it('heartbeat extends the owner’s lease by its TTL from now; another owner’s is grant-not-found', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now += 30_000;
      expect(await h.store.heartbeat('p', g.id, 'o1')).toEqual({ ok: true, value: { ...g, expiresAt: h.now + TTL } });
      expect(await h.store.heartbeat('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.heartbeat('p', 'g-nope', 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
      h.now += 1;
      expect(value(await h.store.heartbeat('p', g.id)).expiresAt).toBe(h.now + TTL); // no owner: any lease
    });

    it('heartbeat of an expired lease reclaims it: lease-expired, then grant-not-found', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now = g.expiresAt - 1;
      value(await h.store.heartbeat('p', g.id, 'o1'));
      h.now += TTL;
      expect(await h.store.heartbeat('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
      expect((await snap()).active).toBe(0);
      expect(await h.store.heartbeat('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
    });

    it('another owner cannot touch an expired lease: grant-not-found, nothing reclaimed', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now = g.expiresAt;
      expect(await h.store.heartbeat('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.release('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.get('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect((await snap()).active).toBe(1);
    });

    it('release ends the owner’s lease and returns its capacity', async () => {
      await open([pool({ members: [member('m1', 1)] })]);
      const g = await create('o1');
      expect(await h.store.release('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect((await snap()).active).toBe(1);
      expect(await h.store.release('p', g.id, 'o1')).toEqual({ ok: true, value: g });
      expect(await counts()).toEqual({ active: 0, members: { m1: 0 }, agencies: { a: 0, b: 0 } });
      expect(await h.store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.get('p', g.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      await create('o2');
    });

    it('release of an expired lease reclaims it and answers lease-expired', async () => {
      await open([pool()]);
      const g = await create('o1');
      h.now = g.expiresAt;
      expect(await h.store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
      expect((await snap()).active).toBe(0);
      expect(await h.store.release('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
    });

    it('get reads without renewing; expired reads lease-expired until reclaimed, then grant-not-found', async () => {
      await open([pool()]);
      const g = await create('o1');
      const other = await create('o2');
      h.now = g.expiresAt - 1;
      expect(await h.store.get('p', g.id, 'o1')).toEqual({ ok: true, value: g });
      expect(await h.store.get('p', g.id, 'o2')).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.get('p', 'g-nope')).toEqual({ ok: false, failure: 'grant-not-found' });
      h.now = g.expiresAt;
      expect(await h.store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
      expect(await h.store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'lease-expired' });
      expect((await snap()).active).toBe(2); // reads never write
      expect((await h.store.reap('p', 10)).map((e) => e.id)).toEqual([g.id, other.id]);
      expect(await h.store.get('p', g.id, 'o1')).toEqual({ ok: false, failure: 'grant-not-found' });
    });

    it('listByOwner: the owner’s live leases in creation order', async () => {
      await open([pool({ perEmployeeLimit: 3 })]);
      const a = await create('o1', 'a', { clientId: 'c1' });
      h.now += 10;
      const b = await create('o1', 'a', { clientId: 'c2' });
      await create('o2');
      h.now += 10;
      const c = await create('o1', 'a', { clientId: 'c3' });
      value(await h.store.heartbeat('p', a.id));
      expect((await h.store.listByOwner('p', 'o1')).map((g) => g.id)).toEqual([a.id, b.id, c.id]);
      h.now = b.expiresAt;
      expect(await h.store.listByOwner('p', 'o1')).toEqual([{ ...a, expiresAt: T0 + 20 + TTL }, c]);
      expect(await h.store.listByOwner('p', 'o9')).toEqual([]);
    });
  });
}
