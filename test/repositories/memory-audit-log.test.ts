import { AuditTrail, decodeRow, encodeRow } from '../../src/repositories/memory/memory-audit-log';

describe("the embedded store's compact audit trail", () => {
  it('keeps any value as written, separators and JSON included', () => {
    for (const values of [
      ['1', 'granted', 'own', '', '', '', '', '', '', '', '{"fence":1}'],
      ['1', 'operator', '', '', '', '', '', '', 'by', 'act\x1fwith a separator', '{"a":"\\u001f"}'],
      ['\x1e1', 'x', ''],
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
});
