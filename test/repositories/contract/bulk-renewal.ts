import type { Grant } from '../../../src/domain/grant';
import { member, poolSpec as pool } from '../../support/pool-spec';
import { T0, TTL, GRACE, value, type ContractHarness } from './harness';

/** LeaseStore contract, docs/admission.md: bulk renewal. */
export function describeBulkRenewal(h: ContractHarness, options: { reportsInParts: boolean }): void {
  const { open, create, snap, counts, setSpec } = h;
  describe('bulk renewal', () => {
    /** How a lease a bulk renewal ended is reported (for the services' released / expired events). */
    const ended = (g: Grant) => ({ id: g.id, pool: g.pool, member: g.member, agency: g.agency, owner: g.owner });

    async function fleet(): Promise<Grant[]> {
      await open([pool({ strategy: 'depth-first', members: [member('m1', 10), member('m2', 10)], perEmployeeLimit: 10 })]);
      const gs: Grant[] = [];
      for (let i = 0; i < 6; i++) gs.push(await create('o1', 'a', { clientId: `c${i}` }));
      return gs;
    }

    it('renews what is carried, releases what ended, expires unreported leases past the grace, spares younger ones', async () => {
      const [g0, g1, g2, g3, g4, g5] = await fleet(); // all on m1, created at T0
      h.now = T0 + GRACE - 1;
      const young = await create('o1', 'a', { clientId: 'young' });
      await setSpec({ members: [member('m1', 10), member('m2', 10)], strategy: 'breadth-first' });
      const onM2 = await create('o1', 'a', { clientId: 'm2' });
      expect(onM2.member).toBe('m2');
      h.now = T0 + GRACE;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, 'ghost', onM2.id], ended: [g2!.id] }));
      expect(r).toEqual({ renewed: 2, released: 1, expired: 3, unknown: ['ghost', onM2.id], releasedLeases: [ended(g2!)], expiredLeases: [g3!, g4!, g5!].map(ended) });
      expect(value(await h.store.get('p', g0!.id)).expiresAt).toBe(h.now + TTL);
      expect(await h.store.get('p', g2!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(await h.store.get('p', g3!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect(value(await h.store.get('p', young.id))).toEqual(young);
      expect(value(await h.store.get('p', onM2.id))).toEqual(onM2);
      expect(await counts()).toEqual({ active: 4, members: { m1: 3, m2: 1 }, agencies: { a: 4, b: 0 } });
    });

    it('reported ids that are expired are reclaimed and counted as expired, in either list', async () => {
      const [g0, g1, g2, g3, g4, g5] = await fleet();
      h.now = T0 + 1_000;
      value(await h.store.heartbeat('p', g2!.id));
      h.now = T0 + TTL;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g2!.id], ended: [g1!.id] }));
      // Reported ones as handled (ended first), then the unreported in expiry order.
      expect(r).toEqual({ renewed: 1, released: 0, expired: 5, unknown: [], releasedLeases: [], expiredLeases: [g1!, g0!, g3!, g4!, g5!].map(ended) });
      expect((await snap()).active).toBe(1);
    });

    it('handles each reported id once, ended before active', async () => {
      const [g0, g1] = await fleet();
      const r = value(
        await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, g0!.id, 'x', 'x'], ended: [g1!.id, g1!.id, 'y'] }),
      );
      expect(r).toEqual({ renewed: 1, released: 1, expired: 0, unknown: ['y', 'x'], releasedLeases: [ended(g1!)], expiredLeases: [] });
      expect(await h.store.get('p', g1!.id)).toEqual({ ok: false, failure: 'grant-not-found' });
      expect((await snap()).active).toBe(5);
    });

    it('an empty report expires every lease of the member past the grace, and only of that member', async () => {
      const gs = await fleet();
      await setSpec({ strategy: 'breadth-first' });
      const onM2 = await create('o2');
      h.now = T0 + GRACE;
      expect(value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [] }))).toEqual({
        renewed: 0,
        released: 0,
        expired: 6,
        unknown: [],
        releasedLeases: [],
        expiredLeases: gs.map(ended),
      });
      expect(await counts()).toEqual({ active: 1, members: { m1: 0, m2: 1 }, agencies: { a: 1, b: 0 } });
      expect(value(await h.store.get('p', onM2.id))).toEqual(onM2);
    });

    it('works for a member in drain; an unknown member is unknown-member', async () => {
      const [g0] = await fleet();
      await setSpec({ members: [member('m1', 10, 'drain'), member('m2', 10)] });
      h.now += 1_000;
      const r = value(await h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id], ended: [] }));
      expect(r.renewed).toBe(1);
      expect(await h.store.bulkRenew({ pool: 'p', member: 'm9', active: [g0!.id], ended: [] })).toEqual({ ok: false, failure: 'unknown-member' });
      expect(value(await h.store.get('p', g0!.id)).expiresAt).toBe(h.now + TTL);
    });

    // Not registered for the reference model (one step per report): the stores' parts, compared with one step.
    if (options.reportsInParts) describe('a large report in parts (docs/admission.md)', () => {
      /**
       * One report over parts of `part` ids: duplicates and an id in both lists span parts; grace 0,
       * so an id taken for unreported would show as expired. The pool is full with two in line, so
       * the seats the report frees are offered (in the audit trail after the report's own record).
       */
      async function report(part: number | undefined, reportAll = true) {
        const room = { claimWindowMs: 30_000, checkInMs: 20_000, maxWaiters: 3, admissionsPerSecond: null };
        await open([pool({ members: [member('m1', 6), member('m2', 6)], waitingRoom: room })], { bulkRenewalGraceMs: 0, ...(part ? { bulkRenewalPart: part } : {}) });
        for (let i = 0; i < 12; i++) await create(`o${i}`, 'a', { newGrantId: `p.g${i}` });
        for (const owner of ['w1', 'w2']) expect((await h.grant(h.cmd(owner, 'a', { wait: true, newGrantId: `p.${owner}` }))).outcome).toBe('queued');
        const ids = value(await h.store.listByMember('p', 'm1')).map((l) => l.id).sort();
        expect(ids.length).toBe(6); // breadth-first: half on each member
        const [a, b, c, d, e] = ids as [string, string, string, string, string];
        h.now += 1_000;
        const result = value(
          await h.store.bulkRenew(
            reportAll ? { pool: 'p', member: 'm1', ended: [b, b, d, 'p.nope0'], active: [a, c, d, 'p.nope1', c, e, 'p.g0x', a] } : { pool: 'p', member: 'm1', ended: [], active: [c] },
          ),
        );
        const audit = (await h.store.readAudit('p', { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 200 })).records.map(({ id: _id, ...r }) => r);
        return { result, kept: value(await h.store.listByMember('p', 'm1')), audit, snapshot: await counts() };
      }

      it('answers and leaves state, audit trail included, as a report in one step does', async () => {
        const inOne = await report(undefined);
        expect(inOne.result).toMatchObject({ renewed: 3, released: 2, expired: 1, unknown: ['p.nope0', 'p.nope1', 'p.g0x'] });
        expect(inOne.kept.length).toBe(3);
        expect(inOne.audit.slice(-3).map((r) => r.ev)).toEqual(['renewed', 'offered', 'offered']);
        for (const part of [1, 2, 3]) expect(await report(part)).toEqual(inOne);
      });

      it('reclaims many unreported leases in parts too, and answers as one step does', async () => {
        const inOne = await report(undefined, false); // one reported, five unreported
        expect(inOne.result).toMatchObject({ renewed: 1, released: 0, expired: 5, unknown: [] });
        expect(inOne.result.expiredLeases.map((l) => l.id)).toEqual(inOne.audit.filter((r) => r.ev === 'expired').map((r) => r.g));
        for (const part of [1, 2, 3, 5]) expect(await report(part, false)).toEqual(inOne);
      });

      it('lets other operations run between the parts that reclaim unreported leases', async () => {
        await open([pool({ strategy: 'depth-first', members: [member('m1', 10), member('m2', 10)], perEmployeeLimit: 10 })], { bulkRenewalPart: 1, bulkRenewalGraceMs: 0 });
        const [g0, g1, g2] = await Promise.all([0, 1, 2].map((i) => create('o1', 'a', { clientId: `c${i}` })));
        h.now = T0 + 1_000;
        // An empty report: three leases to reclaim, more than a part. g2 is released before its part comes.
        const renewal = h.store.bulkRenew({ pool: 'p', member: 'm1', active: [], ended: [] });
        const released = h.store.release('p', g2!.id, g2!.owner);
        const [r, rel] = await Promise.all([renewal, released]);
        expect(value(rel).id).toBe(g2!.id);
        expect(r).toEqual({ ok: true, value: { renewed: 0, released: 0, expired: 2, unknown: [], releasedLeases: [], expiredLeases: [g0!, g1!].map(ended) } });
        expect(await counts()).toEqual({ active: 0, members: { m1: 0, m2: 0 }, agencies: { a: 0, b: 0 } });
      });

      it('lets other operations run between its parts, as between two reports', async () => {
        await open([pool({ strategy: 'depth-first', members: [member('m1', 10), member('m2', 10)], perEmployeeLimit: 10 })], { bulkRenewalPart: 1 });
        const [g0, g1, g2, g3, g4, g5] = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => create('o1', 'a', { clientId: `c${i}` }))); // all on m1, at T0
        h.now = T0 + GRACE;
        // Asked for before the first part has answered; a store without parts would run the whole report first.
        const renewal = h.store.bulkRenew({ pool: 'p', member: 'm1', active: [g0!.id, g1!.id, g2!.id], ended: [] });
        const released = h.store.release('p', g2!.id, g2!.owner);
        const granted = h.store.grant(h.cmd('o9', 'a', { newGrantId: 'p.late' }));
        const [r, rel, late] = await Promise.all([renewal, released, granted]);
        expect(value(rel).id).toBe(g2!.id);
        expect(value(late)).toMatchObject({ outcome: 'created', grant: { id: 'p.late', member: 'm1' } });
        // g2 was released between the parts: unknown to the last one. p.late is younger than the grace: left alone.
        expect(r).toEqual({ ok: true, value: { renewed: 2, released: 0, expired: 3, unknown: [g2!.id], releasedLeases: [], expiredLeases: [g3!, g4!, g5!].map(ended) } });
        expect(value(await h.store.listByMember('p', 'm1')).map((l) => l.id).sort()).toEqual([g0!.id, g1!.id, 'p.late'].sort());
      });
    });
  });
}
