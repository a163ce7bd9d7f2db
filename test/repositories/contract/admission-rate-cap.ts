import { poolSpec as pool } from '../../support/pool-spec';
import { value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: admission rate cap. */
export function describeAdmissionRateCap(h: ContractHarness): void {
  const { open, cmd, grant, create } = h;
  describe('admission rate cap', () => {
    it('over the cap a request waits (asked or not) and gets an offer as the bucket refills; nobody jumps the line', async () => {
      await open([pool({ waitingRoom: { claimWindowMs: 30_000, checkInMs: 20_000, maxWaiters: 100, admissionsPerSecond: 2 } })]);
      await create('o1');
      await create('o2', 'b');
      const r = await grant(cmd('o3'));
      expect(r.outcome === 'queued' && [r.ticket.reason, r.ticket.position]).toEqual(['admission-rate', 1]);
      const r4 = await grant(cmd('o4'));
      h.now += 499;
      expect((await grant(cmd('o5'))).outcome).toBe('queued'); // 0.998 of a token
      h.now += 1;
      // One token: the head of the line gets it before the new request does.
      const r6 = await grant(cmd('o6'));
      expect(r6.outcome === 'queued' && r6.ticket.position).toBe(3);
      expect(r.outcome === 'queued' && value(await h.store.getTicket('p', r.ticket.id)).state).toBe('offered');
      h.now += 500;
      expect(r4.outcome === 'queued' && value(await h.store.checkIn('p', r4.ticket.id, 'o4')).ticket.state).toBe('offered');
    });
  });
}
