import { parse } from 'csv-parse/sync';
import type { Readable } from 'node:stream';
import type { Principal } from '../../src/auth/principal';
import type { AuditQuery } from '../../src/repositories/lease-store';
import { AUDIT_CSV_COLUMNS, AUDIT_PAGE, AuditService } from '../../src/services/audit.service';
import { harness, type Harness } from './operations-harness';

const T0 = Date.UTC(2026, 10, 23, 8, 0, 0);
const op: Principal = { owner: 'op-pseudonym', agency: 'interior', roles: new Set(['operator']), members: new Set() };

async function text(stream: Readable): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return s;
}

describe.each(['memory', 'redis'] as const)('audit export and retention (%s store)', (kind) => {
  let h: Harness;
  let audit: AuditService;

  beforeEach(async () => {
    h = await harness(kind, T0);
    audit = new AuditService(h.store, h.config, h.cron, h.events);
  });
  afterEach(async () => {
    await h.close();
  });

  it('streams both pools merged by time, one page at a time, filtered by agency and event', async () => {
    const reads: AuditQuery[] = [];
    const readAudit = h.store.readAudit.bind(h.store);
    h.store.readAudit = (pool, q) => (reads.push(q), readAudit(pool, q));
    // 1,300 records in vpn-a and 650 in vdi-b, interleaved in time.
    for (let i = 0; i < 1300; i++) {
      h.storeNow.at = T0 + i * 10;
      await h.store.appendAudit('vpn-a', { ev: 'operator', act: `a${i}`, ag: i % 2 ? 'alpha' : 'beta' });
      if (i % 2 === 0) await h.store.appendAudit('vdi-b', { ev: 'operator', act: `b${i}`, ag: 'alpha' });
    }
    const lines = (await text(await audit.export(op, { fromMs: T0, toMs: T0 + 20_000, pool: null, format: 'jsonl' })))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The 1,950 records, and the read of each pool audited at the store's "now" (inside the range).
    expect(lines.filter((l) => l.action !== 'audit-read')).toHaveLength(1950);
    expect(lines.filter((l) => l.action === 'audit-read').map((l) => [l.pool, l.by])).toEqual([
      ['vpn-a', 'op-pseudonym'],
      ['vdi-b', 'op-pseudonym'],
    ]);
    expect(lines.map((l) => Date.parse(l.time))).toEqual(lines.map((l) => Date.parse(l.time)).sort((x, y) => x - y));
    expect(lines.slice(0, 3).map((l) => [l.pool, l.action])).toEqual([
      ['vpn-a', 'a0'],
      ['vdi-b', 'b0'],
      ['vpn-a', 'a1'],
    ]);
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(reads.every((q) => q.limit === AUDIT_PAGE)).toBe(true);

    const alpha = (await text(await audit.export(op, { fromMs: T0, toMs: T0 + 20_000, pool: 'vpn-a', agency: 'alpha', event: 'operator', format: 'jsonl' }))).trim().split('\n');
    expect(alpha).toHaveLength(650); // the audit-read records carry no agency
    expect(alpha.every((l) => JSON.parse(l).agency === 'alpha')).toBe(true);
  });

  it('writes CSV a spreadsheet reads back as written: quotes, commas, line breaks; formulas defused', async () => {
    h.storeNow.at = T0;
    const tricky = 'reason: "quoted", with, commas\nand a second line';
    await h.store.appendAudit('vpn-a', { ev: 'operator', by: 'op-x', act: 'member-state', m: 'gw-1', d: JSON.stringify({ reason: tricky }) });
    await h.store.appendAudit('vpn-a', { ev: 'operator', by: '=cmd|calc', act: '+SUM(A1)', m: '@gw' });
    const csv = await text(await audit.export(op, { fromMs: T0, toMs: T0 + 1, pool: 'vpn-a', format: 'csv' }));
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(rows[0]).toMatchObject({ time: new Date(T0).toISOString(), pool: 'vpn-a', event: 'operator', by: 'op-x', action: 'member-state', member: 'gw-1', owner: '' });
    expect(JSON.parse(rows[0]!.detail!)).toEqual({ reason: tricky });
    // Cells a spreadsheet would evaluate start with a quote instead.
    expect([rows[1]!.by, rows[1]!.action, rows[1]!.member]).toEqual(["'=cmd|calc", "'+SUM(A1)", "'@gw"]);
  });

  it('audits the read itself, and refuses a backwards range or an unknown pool', async () => {
    h.storeNow.at = T0;
    await (await audit.export(op, { fromMs: T0 - 1000, toMs: T0 + 1000, pool: 'vdi-b', agency: 'alpha', format: 'csv' })).resume();
    const page = await h.store.readAudit('vdi-b', { fromMs: 0, toMs: T0 + 1000, limit: 10 });
    expect(page.records.map((r) => [r.by, r.act, JSON.parse(r.d)])).toEqual([
      ['op-pseudonym', 'audit-read', { from: new Date(T0 - 1000).toISOString(), to: new Date(T0 + 1000).toISOString(), agency: 'alpha', event: null, format: 'csv' }],
    ]);
    await expect(audit.export(op, { fromMs: T0, toMs: T0, pool: null, format: 'jsonl' })).rejects.toMatchObject({ code: 'validation-failed' });
    await expect(audit.export(op, { fromMs: T0, toMs: T0 + 1, pool: 'nope', format: 'jsonl' })).rejects.toMatchObject({ code: 'unknown-pool' });
  });

  it('trims records older than the retention on its cron job, once across replicas', async () => {
    h.storeNow.at = T0 - 91 * 86_400_000;
    await h.store.appendAudit('vpn-a', { ev: 'operator', act: 'old' });
    h.storeNow.at = T0 - 89 * 86_400_000;
    await h.store.appendAudit('vpn-a', { ev: 'operator', act: 'recent' });
    h.storeNow.at = T0;
    audit.onApplicationBootstrap();
    expect(h.cron.jobs.get('audit-trim')).toMatchObject({ expression: '17 3 * * *', timezone: 'UTC' });
    const other = new AuditService(h.store, h.config, h.replica().cron, h.events);
    const [mine, theirs] = await Promise.all([audit.trim(T0), other.trim(T0)]);
    expect(mine + theirs).toBe(1);
    const left = await h.store.readAudit('vpn-a', { fromMs: 0, toMs: T0, limit: 10 });
    expect(left.records.map((r) => r.act)).toEqual(['recent']);
  });
});
