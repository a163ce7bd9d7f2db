import type { GrantCommand } from '../../../src/domain/grant';
import type { PoolSpec } from '../../../src/domain/pool-spec';
import { member, poolSpec as pool, share } from '../../support/pool-spec';
import type { LeaseStoreOptions } from '../../../src/repositories/lease-store';
import { fence, T0, TTL, RETRY, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: waiting room. */
export function describeWaitingRoom(h: ContractHarness): void {
  const { open, cmd, grant, create, refusal, snap, setSpec } = h;
  describe('waiting room', () => {
    const room = { claimWindowMs: 30_000, checkInMs: 20_000, maxWaiters: 3, admissionsPerSecond: null };
    const changes: unknown[][] = [];
    let off: (() => void) | undefined;
    afterEach(() => {
      off?.();
      changes.length = 0;
    });

    async function openRoom(overrides: Partial<PoolSpec> = {}, options: Partial<LeaseStoreOptions> = {}): Promise<void> {
      await open([pool({ members: [member('m1', 1)], waitingRoom: room, ...overrides })], options);
      off = h.store.onWaitingChange((c) => changes.push(c));
    }

    async function queue(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}) {
      const r = await grant(cmd(owner, agency, { wait: true, ...extra }));
      if (r.outcome !== 'queued') throw new Error(`expected queued, got ${r.outcome}${r.outcome === 'refused' ? ` (${r.code})` : ''}`);
      return r.ticket;
    }

    it('a full pool puts a request that asks to wait in line; without asking it is refused as before', async () => {
      await openRoom();
      await create('o1');
      expect((await refusal(cmd('o2'))).code).toBe('pool-full');
      h.now += 5;
      const t = await queue('o2', 'a', { newGrantId: 'p.t2', priority: { class: 'standard', rank: 0 } });
      expect(t).toEqual({
        id: 'p.t2',
        pool: 'p',
        owner: 'o2',
        agency: 'a',
        clientId: 'c1',
        priorityClass: 'standard',
        rank: 0,
        reason: 'pool-full',
        joinedAt: T0 + 5,
        state: 'waiting',
        position: 1,
        checkInBy: T0 + 5 + 20_000,
        offer: null,
        estimatedWaitMs: null,
      });
      expect((await queue('o3')).position).toBe(2);
      // Asking again returns the same ticket, waiting or not.
      expect(await grant(cmd('o2'))).toEqual({ outcome: 'queued', ticket: t, expired: [] });
      const s = await snap();
      expect([s.waiting, s.offered, s.active]).toEqual([2, 0, 1]);
    });

    it('a freed slot is offered to the head of the line in the same step; the claim turns the offer into the grant', async () => {
      await openRoom();
      const g = await create('o1');
      const t2 = await queue('o2', 'a', { newGrantId: 'p.t2' });
      const t3 = await queue('o3', 'a', { newGrantId: 'p.t3' });
      h.now += 1_000;
      value(await h.store.release('p', g.id, 'o1'));
      expect(changes.flat()).toEqual([{ kind: 'offered', ticket: { ...t2, state: 'offered', position: 0, checkInBy: h.now + 30_000, offer: { member: 'm1', until: h.now + 30_000 } } }]);
      // The slot is held: a direct request does not get it, and the snapshot counts the offer.
      expect((await refusal(cmd('o9'))).code).toBe('pool-full');
      const s = await snap();
      expect([s.active, s.waiting, s.offered, s.free]).toEqual([1, 1, 1, 0]);
      expect(value(await h.store.getTicket('p', t3.id, 'o3')).position).toBe(1);
      expect(await h.store.claim('p', t3.id, 'o3')).toEqual({ ok: false, failure: 'offer-not-ready' });
      expect(await h.store.claim('p', t2.id, 'o3')).toEqual({ ok: false, failure: 'ticket-not-found' });
      h.now += 2_000;
      const claimed = value(await h.store.claim('p', t2.id, 'o2'));
      expect(claimed).toEqual({ id: 'p.t2', pool: 'p', member: 'm1', agency: 'a', owner: 'o2', clientId: 'c1', fencingToken: fence(1, h.now), createdAt: h.now, expiresAt: h.now + TTL, ttlMs: TTL });
      expect(value(await h.store.claim('p', t2.id, 'o2'))).toEqual(claimed); // a repeated claim
      expect(value(await h.store.get('p', t2.id, 'o2'))).toEqual(claimed);
      expect([(await snap()).active, (await snap()).offered]).toEqual([1, 0]);
    });

    it('an unclaimed offer passes to the next waiter when its claim window ends', async () => {
      await openRoom();
      const g = await create('o1');
      const t2 = await queue('o2');
      const t3 = await queue('o3');
      value(await h.store.release('p', g.id));
      h.now += 15_000;
      value(await h.store.checkIn('p', t3.id, 'o3'));
      h.now += 14_999;
      value(await h.store.checkIn('p', t3.id, 'o3'));
      h.now += 1;
      changes.length = 0;
      expect(await h.store.reap('p', 10)).toEqual([]);
      expect(changes.flat()).toEqual([
        { kind: 'left', pool: 'p', ticketId: t2.id, owner: 'o2', reason: 'offer-expired' },
        { kind: 'offered', ticket: expect.objectContaining({ id: t3.id, state: 'offered', offer: { member: 'm1', until: h.now + 30_000 } }) },
      ]);
      expect(await h.store.claim('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
    });

    it('a claim after the claim window: offer-expired, and the slot goes on to the next', async () => {
      await openRoom();
      const g = await create('o1');
      const t2 = await queue('o2');
      const t3 = await queue('o3');
      value(await h.store.release('p', g.id));
      h.now += 19_000;
      value(await h.store.checkIn('p', t3.id, 'o3'));
      h.now += 11_000;
      expect(await h.store.claim('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'offer-expired' });
      expect(value(await h.store.getTicket('p', t3.id)).state).toBe('offered');
    });

    it('a waiter who stops checking in drops out; one who checks in keeps their place', async () => {
      await openRoom();
      await create('o1');
      const t2 = await queue('o2');
      const t3 = await queue('o3');
      h.now += 19_999;
      const r = value(await h.store.checkIn('p', t3.id, 'o3'));
      expect([r.ticket.position, r.ticket.checkInBy]).toEqual([2, h.now + 20_000]);
      h.now += 1;
      expect(await h.store.getTicket('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
      expect(value(await h.store.checkIn('p', t3.id, 'o3')).ticket.position).toBe(1);
      expect(changes.flat()).toEqual([{ kind: 'left', pool: 'p', ticketId: t2.id, owner: 'o2', reason: 'missed-check-in' }]);
      expect((await snap()).waiting).toBe(1);
    });

    it('leaving the line, and declining an offer, which goes to the next', async () => {
      await openRoom();
      const g = await create('o1');
      const t2 = await queue('o2');
      const t3 = await queue('o3');
      const t4 = await queue('o4');
      expect(await h.store.leave('p', t3.id, 'o3')).toEqual({ ok: true, value: null });
      expect(value(await h.store.getTicket('p', t4.id)).position).toBe(2);
      value(await h.store.release('p', g.id));
      expect(await h.store.leave('p', t2.id, 'o2')).toEqual({ ok: true, value: null });
      expect(value(await h.store.getTicket('p', t4.id)).state).toBe('offered');
      expect(await h.store.leave('p', t2.id, 'o2')).toEqual({ ok: false, failure: 'ticket-not-found' });
    });

    it('first come first served within a class; a higher class goes first; the head that cannot be admitted is passed', async () => {
      await openRoom({ members: [member('m1', 2)], agencies: [share('a', 0, 1), share('b', 0, 9)] });
      const ga = await create('a1', 'a');
      const gb = await create('b1', 'b');
      const tA = await queue('a2', 'a'); // agency a is at its maximum: passed while it is
      const tB = await queue('b2', 'b');
      const tC = await queue('b3', 'b', { priority: { class: 'crisis', rank: 100 } });
      expect([tA, tB, tC].map((t) => t.position)).toEqual([1, 2, 1]);
      value(await h.store.release('p', gb.id));
      expect(value(await h.store.getTicket('p', tC.id)).state).toBe('offered');
      value(await h.store.claim('p', tC.id, 'b3'));
      value(await h.store.release('p', ga.id));
      expect(value(await h.store.getTicket('p', tA.id)).state).toBe('offered');
      expect(value(await h.store.getTicket('p', tB.id)).position).toBe(1);
    });

    it('the line is bounded: beyond maxWaiters a request is refused waiting-room-full', async () => {
      await openRoom();
      await create('o1');
      for (const o of ['o2', 'o3', 'o4']) await queue(o);
      expect(await refusal(cmd('o5', 'a', { wait: true }))).toEqual({ code: 'waiting-room-full', retryAfterSeconds: RETRY });
    });

    it('raising capacity offers the new slots to the line in the same step', async () => {
      await openRoom();
      await create('o1');
      const t2 = await queue('o2');
      const t3 = await queue('o3');
      await setSpec({ members: [member('m1', 3)] });
      expect(changes.flat().map((c) => (c as { kind: string }).kind)).toEqual(['offered', 'offered']);
      expect(value(await h.store.getTicket('p', t2.id)).offer).toEqual({ member: 'm1', until: h.now + 30_000 });
      expect(value(await h.store.getTicket('p', t3.id)).state).toBe('offered');
    });

    it('estimates the wait from the recent pace of offers', async () => {
      await openRoom({ members: [member('m1', 2)] });
      const g1 = await create('o1');
      const g2 = await create('o2');
      const t3 = await queue('o3');
      const t4 = await queue('o4');
      const t5 = await queue('o5');
      h.now += 15_000;
      for (const [t, o] of [[t3, 'o3'], [t4, 'o4']] as const) value(await h.store.checkIn('p', t.id, o));
      expect(value(await h.store.checkIn('p', t5.id, 'o5')).ticket.estimatedWaitMs).toBe(null); // nothing moved yet
      h.now += 5_000;
      value(await h.store.release('p', g1.id));
      h.now += 10_000;
      value(await h.store.release('p', g2.id));
      expect(value(await h.store.getTicket('p', t3.id)).state).toBe('offered');
      // Two offers in the 10 s since the bucket of the first one began: 5 s a place.
      expect(value(await h.store.getTicket('p', t5.id))).toMatchObject({ position: 1, estimatedWaitMs: 5_000 });
      expect(value(await h.store.getTicket('p', t4.id))).toMatchObject({ state: 'offered', estimatedWaitMs: null });
    });
  });
}
