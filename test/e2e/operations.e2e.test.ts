/**
 * The operator API end to end through the Fastify adapter, on both stores:
 * drain and return with remaining sessions, runtime changes that survive a
 * restart, the circuit breaker tripping on failure reports, the audit export
 * (JSON lines and CSV), and every bad input answered with problem+json and
 * nothing changed.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { parse } from 'csv-parse/sync';
import { LEASE_STORE, type LeaseStore } from '../../src/repositories/lease-store';
import { deleteKeys, startTestApp, TEST_REDIS_URL, type TestApp } from '../support/test-app';

const FILE = 'operations.yaml';
const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('operator API (%s)', (_name, redis) => {
  let t: TestApp;
  let op: string;
  const prefix = `test:${randomUUID()}:`;
  const env: Record<string, string> = redis ? { REDIS_KEY_PREFIX: prefix } : {};

  beforeAll(async () => {
    t = await startTestApp({ redis, file: FILE, env });
    op = await t.token({ sub: 'op-1', agency: 'alpha', roles: ['operator'] });
  });
  afterAll(async () => {
    await t.app.close();
    if (redis) await deleteKeys(prefix);
  });

  const employee = (sub: string, agency = 'alpha') => t.token({ sub, agency });
  async function grant(token: string, pool = 'vpn-a', clientId = 'laptop') {
    const res = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: json(token), payload: { pool, clientId } });
    return { status: res.statusCode, body: res.json() };
  }
  const get = async (url: string, token = op) => t.app.inject({ method: 'GET', url, headers: json(token) });

  it('drains a member: sessions and reconnects go on, new ones go elsewhere, remaining sessions are shown; then brings it back', async () => {
    const e1 = await employee('e-drain-1');
    const g1 = await grant(e1);
    expect(g1.status).toBe(201);
    const member = g1.body.member as string;
    const other = member === 'gw-1' ? 'gw-2' : 'gw-1';

    const put = await t.app.inject({ method: 'PUT', url: `/v1/pools/vpn-a/members/${member}/state`, headers: json(op), payload: { state: 'drain', reason: 'firmware update' } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ pool: 'vpn-a', id: member, state: 'drain', stateReason: 'firmware update', stateBy: 'operator', active: 1, configured: { state: 'active', maxSessions: 3 }, breaker: null });

    const pool = (await get('/v1/pools/vpn-a')).json();
    expect(pool.members.find((m: { id: string }) => m.id === member)).toMatchObject({ state: 'drain', stateReason: 'firmware update', stateBy: 'operator', active: 1 });
    expect(pool.capacity).toBe(3);

    const again = await grant(e1);
    expect([again.status, again.body.id, again.body.member]).toEqual([200, g1.body.id, member]);
    const e2 = await grant(await employee('e-drain-2'));
    expect(e2.body.member).toBe(other);

    expect((await get(`/v1/pools/vpn-a/members/${member}`)).json()).toMatchObject({ state: 'drain', active: 1 });
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/grants/${g1.body.id}`, headers: json(e1) });
    expect(del.statusCode).toBe(204);
    expect((await get(`/v1/pools/vpn-a/members/${member}`)).json()).toMatchObject({ state: 'drain', active: 0 });

    const back = await t.app.inject({ method: 'PUT', url: `/v1/pools/vpn-a/members/${member}/state`, headers: json(op), payload: { state: 'active' } });
    expect(back.json()).toMatchObject({ state: 'active', stateBy: 'operator' });
    await t.app.inject({ method: 'DELETE', url: `/v1/grants/${e2.body.id}`, headers: json(await employee('e-drain-2')) });
  });

  it('changes capacities, shares and limits at runtime, refuses a change that breaks a rule, and resets to the config file', async () => {
    const patch = await t.app.inject({
      method: 'PATCH',
      url: '/v1/pools/vdi-b',
      headers: json(op),
      payload: { licenceLimit: 5, maxSessionMinutes: 60, members: [{ id: 'sh-3', maxSessions: 4 }], agencies: [{ id: 'gamma', maximum: 2 }], reason: 'exam week' },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().overrides).toEqual({ licenceLimit: 5, maxSessionMs: 3_600_000, members: { 'sh-3': { maxSessions: 4 } }, agencies: { gamma: { maximum: 2 } } });
    const pool = (await get('/v1/pools/vdi-b')).json();
    expect([pool.licenceLimit, pool.capacity, pool.members[2].maxSessions, pool.agencies.find((a: { id: string }) => a.id === 'gamma').maximum]).toEqual([5, 5, 4, 2]);

    const bad = await t.app.inject({ method: 'PATCH', url: '/v1/pools/vdi-b', headers: json(op), payload: { agencies: [{ id: 'alpha', guaranteed: 6 }] } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'capacity-rule-violated' });
    expect(bad.json().errors[0].message).toMatch(/guaranteed/);

    const reset = await t.app.inject({ method: 'DELETE', url: '/v1/pools/vdi-b/overrides', headers: json(op) });
    expect(reset.statusCode).toBe(200);
    expect(reset.json().overrides).toEqual({});
    expect((await get('/v1/pools/vdi-b')).json()).toMatchObject({ licenceLimit: 4, capacity: 4 });
  });

  it('takes a member out after enough distinct failure reports and says so (circuit breaker)', async () => {
    const a = await employee('e-cb-1');
    const b = await employee('e-cb-2', 'beta');
    const ga = await grant(a);
    const gb = await grant(b);
    // Both on one member: drain the other one for a moment.
    const target = ga.body.member as string;
    if (gb.body.member !== target) {
      await t.app.inject({ method: 'DELETE', url: `/v1/grants/${gb.body.id}`, headers: json(b) });
      await t.app.inject({ method: 'PUT', url: `/v1/pools/vpn-a/members/${gb.body.member}/state`, headers: json(op), payload: { state: 'drain' } });
      Object.assign(gb, await grant(b));
      await t.app.inject({ method: 'PUT', url: `/v1/pools/vpn-a/members/${gb.body.member === 'gw-1' ? 'gw-2' : 'gw-1'}/state`, headers: json(op), payload: { state: 'active' } });
    }
    expect(gb.body.member).toBe(target);

    const r1 = await t.app.inject({ method: 'POST', url: `/v1/pools/vpn-a/members/${target}/failures`, headers: json(a), payload: { grantId: ga.body.id } });
    expect(r1.statusCode).toBe(200);
    expect(r1.json()).toEqual({ pool: 'vpn-a', member: target, failures: 1, threshold: 2, tripped: false });
    const again = await t.app.inject({ method: 'POST', url: `/v1/pools/vpn-a/members/${target}/failures`, headers: json(a), payload: { grantId: ga.body.id } });
    expect(again.json()).toMatchObject({ failures: 1, tripped: false });
    const r2 = await t.app.inject({ method: 'POST', url: `/v1/pools/vpn-a/members/${target}/failures`, headers: json(b), payload: { grantId: gb.body.id, kind: 'connect' } });
    expect(r2.json()).toMatchObject({ failures: 2, tripped: true });

    const m = (await get(`/v1/pools/vpn-a/members/${target}`)).json();
    expect(m).toMatchObject({ state: 'out-of-service', stateBy: 'circuit-breaker', breaker: { phase: 'open', trips: 1 } });
    expect(m.stateReason).toMatch(/2 failure report/);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(new RegExp(`broker_member_breaker_transitions_total\\{pool="vpn-a",member="${target}",to="open"\\} 1`));

    // An operator brings it back: the breaker is reset.
    const back = await t.app.inject({ method: 'PUT', url: `/v1/pools/vpn-a/members/${target}/state`, headers: json(op), payload: { state: 'active', reason: 'gateway restarted' } });
    expect(back.json()).toMatchObject({ state: 'active', breaker: null });
    for (const [tok, g] of [
      [a, ga],
      [b, gb],
    ] as const) {
      await t.app.inject({ method: 'DELETE', url: `/v1/grants/${g.body.id}`, headers: json(tok) });
    }
  });

  it('exports the audit trail as JSON lines and CSV, with pseudonyms only, operator actions included', async () => {
    const e = await employee('e-audit-raw-id');
    const g = await grant(e, 'vdi-b');
    expect(g.status).toBe(201);
    await t.app.inject({ method: 'PUT', url: '/v1/pools/vdi-b/members/sh-2/state', headers: json(op), payload: { state: 'drain', reason: '=HYPERLINK("x"), "quoted", comma' } });

    const from = new Date(Date.now() - 3600_000).toISOString();
    const jl = await get(`/v1/audit?from=${from}&pool=vdi-b`);
    expect(jl.statusCode).toBe(200);
    expect(jl.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(jl.body).not.toContain('e-audit-raw-id');
    const lines = jl.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.every((l: { pool: string }) => l.pool === 'vdi-b')).toBe(true);
    expect(lines.map((l: { time: string }) => l.time)).toEqual([...lines.map((l: { time: string }) => l.time)].sort());
    const granted = lines.find((l: { event: string; grant?: string }) => l.event === 'granted' && l.grant === g.body.id);
    expect(granted).toMatchObject({ agency: 'alpha', member: g.body.member });
    expect(typeof granted.owner).toBe('string');
    const state = lines.find((l: { action?: string }) => l.action === 'member-state');
    expect(state).toMatchObject({ event: 'operator', member: 'sh-2', detail: { from: 'active', to: 'drain', reason: '=HYPERLINK("x"), "quoted", comma' } });
    expect(state.by).toEqual(expect.any(String));
    // Reading the trail is audited too (the record lands just after the range just read).
    const next = (await get(`/v1/audit?from=${from}&pool=vdi-b&event=operator`)).body.trim().split('\n').map((l) => JSON.parse(l));
    expect(next.find((l: { action?: string }) => l.action === 'audit-read')).toMatchObject({ by: state.by, detail: { format: 'jsonl', event: null } });

    const csv = await get(`/v1/audit?from=${from}&pool=vdi-b&format=csv&event=operator`);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="audit-.*\.csv"$/);
    const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['id', 'time', 'pool', 'event', 'owner', 'agency', 'member', 'grant', 'code', 'priorityClass', 'by', 'action', 'detail']);
    expect(rows.every((r) => r.event === 'operator')).toBe(true);
    const row = rows.find((r) => r.action === 'member-state')!;
    expect(JSON.parse(row.detail!)).toMatchObject({ reason: '=HYPERLINK("x"), "quoted", comma' });

    const byAgency = (await get(`/v1/audit?from=${from}&agency=gamma`)).body.trim();
    expect(byAgency.split('\n').filter((l) => l !== '').every((l) => JSON.parse(l).agency === 'gamma')).toBe(true);
    await t.app.inject({ method: 'PUT', url: '/v1/pools/vdi-b/members/sh-2/state', headers: json(op), payload: { state: 'active' } });
  });

  if (redis) {
    it('keeps runtime changes across a restart and a re-sync of the config file', async () => {
      await t.app.inject({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-2', maxSessions: 5 }] } });
      await t.app.inject({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: { state: 'out-of-service', reason: 'rack move' } });
      await t.app.close();
      t = await startTestApp({ redis, file: FILE, env });
      op = await t.token({ sub: 'op-1', agency: 'alpha', roles: ['operator'] });
      const pool = (await get('/v1/pools/vpn-a')).json();
      expect(pool.members).toEqual([
        expect.objectContaining({ id: 'gw-1', state: 'out-of-service', stateReason: 'rack move' }),
        expect.objectContaining({ id: 'gw-2', state: 'active', maxSessions: 5 }),
      ]);
      expect(pool.capacity).toBe(5);
      const store = t.app.get<LeaseStore>(LEASE_STORE);
      expect((await store.getPoolLayers('vpn-a'))!.base.members.map((m) => m.maxSessions)).toEqual([3, 3]);
    });
  }

  describe('bad input gets a 4xx problem+json and changes nothing', () => {
    async function digest(): Promise<string> {
      const store = t.app.get<LeaseStore>(LEASE_STORE);
      const parts: unknown[] = [];
      for (const p of ['vpn-a', 'vdi-b']) {
        const s = await store.snapshot(p);
        parts.push(s.ok ? { ...s.value, at: 0 } : s, await store.getPoolLayers(p));
        parts.push((await store.readAudit(p, { fromMs: 0, toMs: Date.now() + 3600_000, limit: 10_000 })).records.length);
      }
      if (redis) {
        const r = new Redis(TEST_REDIS_URL);
        try {
          const keys = (await r.keys(`${prefix}*`)).sort();
          for (const k of keys) parts.push([k, (await r.dumpBuffer(k))?.toString('base64')]);
        } finally {
          r.disconnect();
        }
      }
      return JSON.stringify(parts);
    }

    type Req = Parameters<TestApp['app']['inject']>[0];
    const cases: [string, number, string, () => Promise<Req>][] = [
      ['a state that does not exist', 400, 'validation-failed', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: { state: 'paused' } })],
      ['a state change with an unknown field', 400, 'validation-failed', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: { state: 'drain', force: true } })],
      ['a state change without a body', 400, 'validation-failed', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: '' })],
      ['a state change of malformed JSON', 400, 'malformed-json', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: '{"state":' })],
      ['a reason too long', 400, 'validation-failed', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(op), payload: { state: 'drain', reason: 'x'.repeat(201) } })],
      ['a state change of an unknown member', 404, 'unknown-member', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-9/state', headers: json(op), payload: { state: 'drain' } })],
      ['a state change in an unknown pool', 404, 'unknown-pool', async () => ({ method: 'PUT', url: '/v1/pools/nope/members/gw-1/state', headers: json(op), payload: { state: 'drain' } })],
      ['a malformed member id', 400, 'validation-failed', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/GW_1/state', headers: json(op), payload: { state: 'drain' } })],
      ['an employee draining a member', 403, 'forbidden', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(await employee('e-bad')), payload: { state: 'drain' } })],
      ['a gateway agent draining a member', 403, 'forbidden', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-1'] })), payload: { state: 'drain' } })],
      ['no token', 401, 'token-missing', async () => ({ method: 'PUT', url: '/v1/pools/vpn-a/members/gw-1/state', headers: { 'content-type': 'application/json' }, payload: { state: 'drain' } })],
      ['a member read of an unknown member', 404, 'unknown-member', async () => ({ method: 'GET', url: '/v1/pools/vpn-a/members/gw-9', headers: json(op) })],
      ['a member read by an employee', 403, 'forbidden', async () => ({ method: 'GET', url: '/v1/pools/vpn-a/members/gw-1', headers: json(await employee('e-bad')) })],
      ['a change of nothing', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: {} })],
      ['a change with only a reason', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { reason: 'why not' } })],
      ['a capacity of 0', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-1', maxSessions: 0 }] } })],
      ['a capacity that is not a number', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-1', maxSessions: '10' }] } })],
      ['a member twice', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-1', maxSessions: 4 }, { id: 'gw-1', maxSessions: 5 }] } })],
      ['an unknown field in a member', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-1', maxSessions: 4, state: 'drain' }] } })],
      ['an agency change without values', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { agencies: [{ id: 'alpha' }] } })],
      ['a negative guarantee', 400, 'validation-failed', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { agencies: [{ id: 'alpha', guaranteed: -1 }] } })],
      ['an unknown member in a change', 404, 'unknown-member', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-9', maxSessions: 4 }] } })],
      ['an agency without a share', 404, 'unknown-agency', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { agencies: [{ id: 'gamma', maximum: 4 }] } })],
      ['guarantees above capacity', 422, 'capacity-rule-violated', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { agencies: [{ id: 'alpha', guaranteed: 20, maximum: 20 }] } })],
      ['a guarantee above the maximum', 422, 'capacity-rule-violated', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { agencies: [{ id: 'beta', guaranteed: 3, maximum: 2 }] } })],
      ['a member larger than one bulk renewal reports', 422, 'capacity-rule-violated', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { members: [{ id: 'gw-1', maxSessions: 20_001 }] } })],
      ['a capacity below the guarantees', 422, 'capacity-rule-violated', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(op), payload: { licenceLimit: 2 } })],
      ['a change in an unknown pool', 404, 'unknown-pool', async () => ({ method: 'PATCH', url: '/v1/pools/nope', headers: json(op), payload: { perEmployeeLimit: 2 } })],
      ['a change as text', 415, 'unsupported-media-type', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: { authorization: `Bearer ${op}`, 'content-type': 'text/plain' }, payload: 'perEmployeeLimit=2' })],
      ['a change by an employee', 403, 'forbidden', async () => ({ method: 'PATCH', url: '/v1/pools/vpn-a', headers: json(await employee('e-bad')), payload: { perEmployeeLimit: 2 } })],
      ['a reset by an employee', 403, 'forbidden', async () => ({ method: 'DELETE', url: '/v1/pools/vpn-a/overrides', headers: json(await employee('e-bad')) })],
      ['a reset of an unknown pool', 404, 'unknown-pool', async () => ({ method: 'DELETE', url: '/v1/pools/nope/overrides', headers: json(op) })],
      ['a failure report by an employee without a grant id', 400, 'validation-failed', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/failures', headers: json(await employee('e-bad')), payload: {} })],
      ['a failure report with a malformed grant id', 400, 'validation-failed', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/failures', headers: json(await employee('e-bad')), payload: { grantId: 'x' } })],
      ['a failure report about a grant that is not yours', 404, 'grant-not-found', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/failures', headers: json(await employee('e-bad')), payload: { grantId: 'vpn-a.AAAAAAAAAAAAAAAA' } })],
      ['a failure report of an unknown kind', 400, 'validation-failed', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/failures', headers: json(op), payload: { kind: 'bored' } })],
      ['a failure report by an agent of another member', 403, 'forbidden', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/failures', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-2'] })), payload: {} })],
      ['a failure report about an unknown member', 404, 'unknown-member', async () => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-9/failures', headers: json(op), payload: {} })],
      ['an audit read by an employee', 403, 'forbidden', async () => ({ method: 'GET', url: '/v1/audit', headers: json(await employee('e-bad')) })],
      ['an audit range that is not a date', 400, 'validation-failed', async () => ({ method: 'GET', url: '/v1/audit?from=yesterday', headers: json(op) })],
      ['an audit range backwards', 400, 'validation-failed', async () => ({ method: 'GET', url: '/v1/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', headers: json(op) })],
      ['an audit read of an unknown pool', 404, 'unknown-pool', async () => ({ method: 'GET', url: '/v1/audit?pool=nope', headers: json(op) })],
      ['an audit read in an unknown format', 400, 'validation-failed', async () => ({ method: 'GET', url: '/v1/audit?format=xml', headers: json(op) })],
      ['an audit read with an unknown parameter', 400, 'validation-failed', async () => ({ method: 'GET', url: '/v1/audit?owner=someone', headers: json(op) })],
      ['an audit read of an unknown event', 400, 'validation-failed', async () => ({ method: 'GET', url: '/v1/audit?event=hacked', headers: json(op) })],
    ];

    it.each(cases)('%s', async (_n, status, code, req) => {
      const request = await req();
      const before = await digest();
      const res = await t.app.inject(request);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status, code, type: `urn:telework-broker:problem:${code}` });
      expect(typeof res.json().detail).toBe('string');
      expect(await digest()).toBe(before);
    });
  });
});
