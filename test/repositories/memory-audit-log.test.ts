import fc from 'fast-check';
import type { AuditEntry, AuditRecord } from '../../src/domain/audit';
import { auditFields } from '../../src/domain/audit';
import type { AuditPage, AuditQuery } from '../../src/repositories/lease-store';
import { AuditTrail, decodeRow, encodeRow } from '../../src/repositories/memory/memory-audit-log';

/**
 * The trail as a plain array of records: what AuditTrail must answer, however it keeps them
 * (flat rows, sealed blocks).
 */
class ReferenceTrail {
  private records: AuditRecord[] = [];
  private lastMs = 0;
  private lastSeq = 0;

  append(e: AuditEntry): void {
    const t = Number(e.t);
    if (t > this.lastMs) [this.lastMs, this.lastSeq] = [t, 0];
    else this.lastSeq++;
    const r = { id: `${this.lastMs}-${this.lastSeq}` } as Record<string, string>;
    for (const f of auditFields) r[f] = (e as Record<string, string | undefined>)[f] ?? '';
    this.records.push(r as unknown as AuditRecord);
  }

  read(q: AuditQuery): AuditPage {
    const msOf = (r: AuditRecord) => Number(r.id.split('-')[0]);
    const seqOf = (r: AuditRecord) => Number(r.id.split('-')[1]);
    let i = 0;
    if (q.after !== undefined) {
      const [ms, seq] = q.after.split('-').map(Number) as [number, number];
      while (i < this.records.length && (msOf(this.records[i]!) < ms || (msOf(this.records[i]!) === ms && seqOf(this.records[i]!) <= seq))) i++;
    } else while (i < this.records.length && msOf(this.records[i]!) < q.fromMs) i++;
    const out: AuditRecord[] = [];
    for (let scanned = 0; i < this.records.length; i++, scanned++) {
      const r = this.records[i]!;
      if (scanned === Math.max(1, q.limit)) return { records: out, next: this.records[i - 1]!.id };
      if (msOf(r) > q.toMs) break;
      if (Number(r.t) >= q.fromMs && Number(r.t) <= q.toMs && (q.agency === undefined || r.ag === q.agency)) out.push(r);
    }
    return { records: out, next: null };
  }

  trim(olderThanMs: number): number {
    const before = this.records.length;
    this.records = this.records.filter((r) => Number(r.id.split('-')[0]) >= olderThanMs);
    return before - this.records.length;
  }

  get length(): number {
    return this.records.length;
  }
}

describe("the embedded store's compact audit trail", () => {
  it('keeps any value as written, separators and JSON included', () => {
    for (const values of [
      ['1', 'granted', 'own', '', '', '', '', '', '', '', '{"fence":1}'],
      ['1', 'operator', '', '', '', '', '', '', 'by', 'act\x1fwith a separator', '{"a":"\\u001f"}'],
      ['\x1e1', 'x', ''],
      ['line\nbreak', 'tab\there', '\x00'],
      ['', '', ''],
    ]) {
      expect(decodeRow(encodeRow(values))).toEqual(values);
    }
    expect(encodeRow(['1', 'granted', 'own'])).toBe('1\x1fgranted\x1fown');
  });

  it('numbers records `<ms>-<seq>` by store time, pages after an id, and trims by id time', () => {
    const trail = new AuditTrail();
    trail.append({ t: '1000', ev: 'granted', own: 'o1', g: 'g1' });
    trail.append({ t: '1000', ev: 'released', own: 'o1', g: 'g1', d: '{"via":"agent"}' });
    trail.append({ t: '999', ev: 'granted', own: 'o2' }); // the clock went back: the id stays after the last
    trail.append({ t: '2000', ev: 'expired', ag: 'alpha' });
    const all = trail.read({ fromMs: 0, toMs: 3000, limit: 10 });
    expect(all.records.map((r) => r.id)).toEqual(['1000-0', '1000-1', '1000-2', '2000-0']);
    expect(all.records[1]).toEqual({ id: '1000-1', t: '1000', ev: 'released', own: 'o1', ag: '', m: '', g: 'g1', code: '', pc: '', by: '', act: '', d: '{"via":"agent"}' });
    const page = trail.read({ fromMs: 0, toMs: 3000, limit: 2 });
    expect(page.next).toBe('1000-1');
    expect(trail.read({ fromMs: 0, toMs: 3000, limit: 10, after: page.next! }).records.map((r) => r.id)).toEqual(['1000-2', '2000-0']);
    expect(trail.read({ fromMs: 0, toMs: 3000, limit: 10, agency: 'alpha' }).records.map((r) => r.ev)).toEqual(['expired']);
    expect(trail.trim(2000)).toBe(3);
    expect(trail.length).toBe(1);
    expect(trail.read({ fromMs: 0, toMs: 3000, limit: 10 }).records.map((r) => r.id)).toEqual(['2000-0']);
  });

  it('answers as a plain array of records would, across sealed blocks: appends (the clock going back too), pages, filters, trims', async () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('append' as const), dt: fc.integer({ min: -3, max: 4 }), n: fc.integer({ min: 1, max: 12 }), ag: fc.constantFrom('alpha', 'beta', '', 'line\nbreak') }) },
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('read' as const),
          from: fc.integer({ min: -5, max: 120 }),
          span: fc.integer({ min: 0, max: 130 }),
          limit: fc.integer({ min: 0, max: 9 }),
          agency: fc.option(fc.constantFrom('alpha', 'beta'), { nil: undefined }),
          pages: fc.integer({ min: 1, max: 30 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('trim' as const), at: fc.integer({ min: -5, max: 130 }) }) },
      // Lets the compressions of the blocks sealed so far come back: blocks are read from their text until then.
      { weight: 1, arbitrary: fc.record({ op: fc.constant('settle' as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), async (blockSize, ops) => {
        const trail = new AuditTrail(blockSize);
        const ref = new ReferenceTrail();
        let t = 0;
        let k = 0;
        for (const o of ops) {
          if (o.op === 'append') {
            t = Math.max(0, t + o.dt);
            for (let j = 0; j < o.n; j++) {
              const e: AuditEntry = { t: String(t), ev: 'granted', own: `o${k++}`, ag: o.ag, d: `{"k":${k}}` };
              trail.append(e);
              ref.append(e);
            }
          } else if (o.op === 'trim') {
            expect(trail.trim(o.at)).toBe(ref.trim(o.at));
          } else if (o.op === 'settle') {
            await trail.compressed();
          } else {
            // An export: page after page, each `after` the last page's `next`.
            let q: AuditQuery = { fromMs: o.from, toMs: o.from + o.span, limit: o.limit, ...(o.agency ? { agency: o.agency } : {}) };
            for (let p = 0; p < o.pages; p++) {
              const page = trail.read(q);
              expect(page).toEqual(ref.read(q));
              if (!page.next) break;
              q = { ...q, after: page.next };
            }
          }
          expect(trail.length).toBe(ref.length);
        }
      }),
      { seed: 20261203, numRuns: 300 },
    );
  });

  it('seals every full block outside the heap, compressed, and still reads it', async () => {
    const trail = new AuditTrail();
    for (let i = 0; i < 3000; i++) trail.append({ t: String(1_764_000_000_000 + i), ev: 'granted', own: `pseudonym-${i.toString(36).padStart(12, '0')}`, ag: 'justice', m: 'gw-3', g: `vpn.${i}`, d: '{"fence":1}' });
    expect(trail.sealedBytes.records).toBe(0); // compressed off the event loop: not back yet
    await trail.compressed();
    const { bytes, records } = trail.sealedBytes;
    expect(records).toBe(2048); // two blocks of 1,024; the rest still open
    expect(bytes / records).toBeLessThan(60); // a row alone is ~90 characters
    expect(trail.read({ fromMs: 1_764_000_000_000 + 1023, toMs: 1_764_000_000_000 + 1024, limit: 10 }).records.map((r) => r.g)).toEqual(['vpn.1023', 'vpn.1024']);
  });
});
