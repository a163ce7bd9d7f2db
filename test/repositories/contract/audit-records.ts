import type { GrantCommand } from '../../../src/domain/grant';
import { member, poolSpec as pool } from '../../support/pool-spec';
import { fence, T0, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: audit records. */
export function describeAuditRecords(h: ContractHarness): void {
  const { open, cmd, grant } = h;
  describe('audit records', () => {
    // Both stores (and the model) write the same records, field for field, in the same order:
    // docs/admission.md, "Audit records". Only the record ids may differ.
    it('the same operations write the same records, every field, in the order they happened', async () => {
      const room = { claimWindowMs: 10_000, checkInMs: 20_000, maxWaiters: 10, admissionsPerSecond: null };
      await open([pool({ members: [member('m1', 1), member('m2', 1)], waitingRoom: room })]);
      const crisis = { class: 'crisis', rank: 100 };
      const id = (n: string) => `p.${n}`;
      const g = (owner: string, agency: string, n: string, extra: Partial<GrantCommand> = {}) => grant(cmd(owner, agency, { newGrantId: id(n), ...extra }));

      await g('o1', 'a', 'g1'); // granted on m1
      await g('o1', 'a', 'g1b'); // reconnected
      await g('o2', 'b', 'g2', { priority: crisis }); // granted on m2, class crisis
      await g('o3', 'a', 'x3'); // refused pool-full
      await g('o3', 'a', 't3', { wait: true }); // queued
      await g('o4', 'b', 't4', { wait: true, priority: crisis }); // queued, crisis: ahead of t3
      await g('o5', 'a', 't5', { wait: true }); // queued
      h.now = T0 + 1_000;
      value(await h.store.leave('p', id('t5'), 'o5')); // left
      value(await h.store.release('p', id('g1'), 'o1')); // released by the owner; offered to t4
      h.now = T0 + 2_000;
      value(await h.store.leave('p', id('t4'), 'o4')); // declined; offered to t3
      h.now = T0 + 13_000;
      expect(await h.store.claim('p', id('t3'), 'o3')).toEqual({ ok: false, failure: 'offer-expired' });
      await g('o6', 'a', 'g6'); // granted on m1
      value(await h.store.release('p', id('g2'))); // released by an operator
      await g('o7', 'b', 'g7'); // granted on m2
      h.now = T0 + 73_000;
      value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [id('g6')] })); // released by the agent
      value(await h.store.bulkRenew({ pool: 'p', member: 'm2', active: [], ended: [] })); // g7 unreported, past the grace: expired
      await g('o8', 'a', 'g8');
      await g('o9', 'b', 'g9');
      h.now = T0 + 193_000;
      expect(await h.store.heartbeat('p', id('g8'), 'o8')).toEqual({ ok: false, failure: 'lease-expired' });
      await h.store.reap('p', 10); // g9
      await g('o10', 'a', 'g10');
      await g('o11', 'b', 'g11');
      await g('o12', 'a', 't12', { wait: true });
      h.now = T0 + 213_000;
      await h.store.reap('p', 10); // t12 missed its check-in

      const records = [];
      for (let after: string | undefined; ; ) {
        const page = await h.store.readAudit('p', { fromMs: 0, toMs: T0 * 2, limit: 7, ...(after !== undefined ? { after } : {}) });
        records.push(...page.records);
        if (page.next === null) break;
        after = page.next;
      }
      const fields = records.map(({ id: _id, ...f }) => f);
      const at = (ms: number) => String(T0 + ms);
      const r = (t: number, ev: string, f: Record<string, string> = {}) => ({ t: at(t), ev, own: '', ag: '', m: '', g: '', code: '', pc: '', by: '', act: '', d: '', ...f });
      expect(fields).toEqual([
        r(0, 'granted', { own: 'o1', ag: 'a', m: 'm1', g: id('g1'), d: `{"fence":${fence(1, T0 + 0)}}` }),
        r(0, 'reconnected', { own: 'o1', ag: 'a', m: 'm1', g: id('g1') }),
        r(0, 'granted', { own: 'o2', ag: 'b', m: 'm2', g: id('g2'), pc: 'crisis', d: `{"fence":${fence(2, T0 + 0)}}` }),
        r(0, 'refused', { own: 'o3', ag: 'a', code: 'pool-full' }),
        r(0, 'queued', { own: 'o3', ag: 'a', g: id('t3'), d: '{"reason":"pool-full"}' }),
        r(0, 'queued', { own: 'o4', ag: 'b', g: id('t4'), pc: 'crisis', d: '{"reason":"pool-full"}' }),
        r(0, 'queued', { own: 'o5', ag: 'a', g: id('t5'), d: '{"reason":"pool-full"}' }),
        r(1_000, 'left-queue', { own: 'o5', ag: 'a', g: id('t5'), d: '{"reason":"left"}' }),
        r(1_000, 'released', { own: 'o1', ag: 'a', m: 'm1', g: id('g1'), d: '{"via":"owner"}' }),
        r(1_000, 'offered', { own: 'o4', ag: 'b', m: 'm1', g: id('t4'), pc: 'crisis', d: `{"until":${T0 + 11_000}}` }),
        r(2_000, 'left-queue', { own: 'o4', ag: 'b', m: 'm1', g: id('t4'), pc: 'crisis', d: '{"reason":"declined"}' }),
        r(2_000, 'offered', { own: 'o3', ag: 'a', m: 'm1', g: id('t3'), d: `{"until":${T0 + 12_000}}` }),
        r(13_000, 'offer-expired', { own: 'o3', ag: 'a', m: 'm1', g: id('t3') }),
        r(13_000, 'granted', { own: 'o6', ag: 'a', m: 'm1', g: id('g6'), d: `{"fence":${fence(1, T0 + 13000)}}` }),
        r(13_000, 'released', { own: 'o2', ag: 'b', m: 'm2', g: id('g2'), d: '{"via":"operator"}' }),
        r(13_000, 'granted', { own: 'o7', ag: 'b', m: 'm2', g: id('g7'), d: `{"fence":${fence(2, T0 + 13000)}}` }),
        r(73_000, 'released', { own: 'o6', ag: 'a', m: 'm1', g: id('g6'), d: '{"via":"agent"}' }),
        r(73_000, 'renewed', { m: 'm1', d: '{"renewed":0,"released":1,"expired":0,"unknown":0}' }),
        r(73_000, 'expired', { own: 'o7', ag: 'b', m: 'm2', g: id('g7'), d: '{"via":"agent"}' }),
        r(73_000, 'renewed', { m: 'm2', d: '{"renewed":0,"released":0,"expired":1,"unknown":0}' }),
        r(73_000, 'granted', { own: 'o8', ag: 'a', m: 'm1', g: id('g8'), d: `{"fence":${fence(1, T0 + 73000)}}` }),
        r(73_000, 'granted', { own: 'o9', ag: 'b', m: 'm2', g: id('g9'), d: `{"fence":${fence(2, T0 + 73000)}}` }),
        r(193_000, 'expired', { own: 'o8', ag: 'a', m: 'm1', g: id('g8') }),
        r(193_000, 'expired', { own: 'o9', ag: 'b', m: 'm2', g: id('g9') }),
        r(193_000, 'granted', { own: 'o10', ag: 'a', m: 'm1', g: id('g10'), d: `{"fence":${fence(1, T0 + 193000)}}` }),
        r(193_000, 'granted', { own: 'o11', ag: 'b', m: 'm2', g: id('g11'), d: `{"fence":${fence(2, T0 + 193000)}}` }),
        r(193_000, 'queued', { own: 'o12', ag: 'a', g: id('t12'), d: '{"reason":"pool-full"}' }),
        r(213_000, 'left-queue', { own: 'o12', ag: 'a', g: id('t12'), d: '{"reason":"missed-check-in"}' }),
      ]);
      // Ids as a Redis Stream's: <ms>-<seq>, strictly increasing.
      const ids = records.map((x) => x.id.split('-').map(Number) as [number, number]);
      for (const x of ids) expect(x.every(Number.isInteger)).toBe(true);
      for (let i = 1; i < ids.length; i++) expect(ids[i]![0] > ids[i - 1]![0] || (ids[i]![0] === ids[i - 1]![0] && ids[i]![1] > ids[i - 1]![1])).toBe(true);
    });
  });
}
