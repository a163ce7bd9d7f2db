import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAppConfig } from '../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { prepareTokens, writeTokensFile } from '../../load-tests/lib/prepare-tokens';

/**
 * k6 cannot be installed here, so the scenarios' functions run in a stand-in
 * for k6 — synchronous HTTP answered by a small fake broker that keeps grants
 * per employee and counts them, and a fake clock that sleep() moves on. It
 * catches what parsing cannot: wrong paths, fields and control flow. The
 * admission rules themselves are tested against the real stores elsewhere.
 */
const root = resolve(__dirname, '../../load-tests');

type Answer = { status: number; headers: Record<string, string>; body: string; json: (path?: string) => unknown };
type Params = { headers: Record<string, string> };

class FakeBroker {
  readonly grants = new Map<string, { token: string; member: string; expiresAt: number }>();
  readonly byToken = new Map<string, string>();
  readonly states = new Map<string, string>();
  readonly calls = new Map<string, number>();
  readonly tickets = new Set<string>();
  /** Bulk renewals per grant id: which sessions the gateway agents renewed, and how often. */
  readonly renewedByAgents = new Map<string, number>();
  /** Grants the fake loses (drops without a release) once the clock reaches the time given. */
  readonly losses: { at: number; ids: string[] }[] = [];
  private next = 0;
  constructor(
    readonly pool: ReturnType<typeof poolSpecsFromConfig>[number],
    readonly ttlMs: number,
    /** Member → its gateway agent's token, and the operator's token, from the tokens file. */
    readonly agents: Record<string, string>,
    readonly operator: string,
  ) {}

  private answer(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
    return {
      status,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      json: (path?: string) => {
        if (path === undefined) return body;
        if (path.endsWith('.#')) return ((body as Record<string, unknown[]>)[path.slice(0, -2)] ?? []).length;
        return (body as Record<string, unknown>)[path];
      },
    };
  }

  private count(member: string): number {
    let n = 0;
    for (const g of this.grants.values()) if (g.member === member && g.expiresAt > Date.now()) n++;
    return n;
  }

  private reap(): void {
    for (const [id, g] of this.grants) if (g.expiresAt <= Date.now()) this.drop(id);
  }

  private drop(id: string): void {
    const g = this.grants.get(id)!;
    this.grants.delete(id);
    this.byToken.delete(g.token);
  }

  private view(id: string) {
    const g = this.grants.get(id)!;
    return { id, pool: this.pool.id, member: g.member, expiresAt: new Date(g.expiresAt).toISOString() };
  }

  snapshot() {
    this.reap();
    const members = this.pool.members.map((m) => ({ id: m.id, state: this.states.get(m.id) ?? 'active', maxSessions: m.maxSessions, active: this.count(m.id) }));
    const capacity = members.filter((m) => m.state === 'active').reduce((n, m) => n + m.maxSessions, 0);
    const active = members.reduce((n, m) => n + m.active, 0);
    return {
      id: this.pool.id,
      capacity,
      active,
      free: capacity - active,
      licenceLimit: null,
      leaseTtlSeconds: this.ttlMs / 1000,
      members,
      agencies: this.pool.agencies.map((a) => ({ ...a, active: 0 })),
      headroom: (this.pool.headroom ?? []).map((h) => ({ ...h, inUse: 0 })),
      waiting: this.tickets.size,
      offered: 0,
    };
  }

  request(method: string, url: string, body: string | null, params?: Params): Answer {
    const path = url.replace(/^https?:\/\/[^/]+/, '');
    const token = params?.headers?.Authorization?.slice('Bearer '.length) ?? '';
    const key = `${method} ${path.replace(/\/v1\/grants\/[^/]+/, '/v1/grants/:id').replace(/gw-\d+/, ':member')}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    for (const l of this.losses) if (Date.now() >= l.at) for (const id of l.ids.splice(0)) if (this.grants.has(id)) this.drop(id);
    this.reap();
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/grants') {
      const held = this.byToken.get(token);
      if (held) {
        this.grants.get(held)!.expiresAt = Date.now() + this.ttlMs;
        return this.answer(200, this.view(held));
      }
      const snap = this.snapshot();
      const open = snap.members.filter((x) => x.state === 'active' && x.active < x.maxSessions).sort((a, b) => a.active - b.active);
      if (open.length === 0) {
        if ((JSON.parse(body!) as { wait?: boolean }).wait) {
          const ticket = `${this.pool.id}.t${String(this.next++).padStart(12, '0')}`;
          this.tickets.add(ticket);
          return this.answer(202, { id: ticket, state: 'waiting', position: this.tickets.size, reason: 'pool-full' });
        }
        return this.answer(503, { code: 'pool-full' }, { 'Retry-After': '60' });
      }
      const id = `${this.pool.id}.g${String(this.next++).padStart(12, '0')}`;
      this.grants.set(id, { token, member: open[0]!.id, expiresAt: Date.now() + this.ttlMs });
      this.byToken.set(token, id);
      return this.answer(201, this.view(id));
    }
    if (method === 'GET' && path === '/v1/grants') {
      const id = this.byToken.get(token);
      return this.answer(200, id ? [this.view(id)] : []);
    }
    if (method === 'POST' && (m = /^\/v1\/grants\/([^/]+)\/heartbeat$/.exec(path))) {
      const g = this.grants.get(m[1]!);
      if (!g || g.token !== token) return this.answer(404, { code: 'grant-not-found' });
      g.expiresAt = Date.now() + this.ttlMs;
      return this.answer(200, this.view(m[1]!));
    }
    if (method === 'DELETE' && (m = /^\/v1\/grants\/([^/]+)$/.exec(path))) {
      const g = this.grants.get(m[1]!);
      if (!g || g.token !== token) return this.answer(404, { code: 'grant-not-found' });
      this.drop(m[1]!);
      return this.answer(204, '');
    }
    if (method === 'GET' && (m = /^\/v1\/pools\/[^/]+\/members\/([^/]+)\/grants$/.exec(path))) {
      // As the broker answers: the live grants of that member only, ids and expiry, soonest first.
      if (token !== this.agents[m[1]!] && token !== this.operator) return this.answer(403, { code: 'forbidden' });
      if (!this.pool.members.some((x) => x.id === m![1])) return this.answer(404, { code: 'unknown-member' });
      const grants = [...this.grants].filter(([, g]) => g.member === m![1] && g.expiresAt > Date.now()).map(([id, g]) => ({ id, expiresAt: g.expiresAt }));
      grants.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
      return this.answer(200, { pool: this.pool.id, member: m[1], count: grants.length, grants });
    }
    if (method === 'GET' && (m = /^\/v1\/pools\/([^/]+)$/.exec(path))) return this.answer(200, this.snapshot());
    if (method === 'POST' && (m = /^\/v1\/pools\/[^/]+\/members\/([^/]+)\/renewals$/.exec(path))) {
      const { active } = JSON.parse(body!) as { active: string[] };
      let renewed = 0;
      const unknown: string[] = [];
      for (const id of active) {
        const g = this.grants.get(id);
        if (g && g.member === m[1]) {
          g.expiresAt = Date.now() + this.ttlMs;
          this.renewedByAgents.set(id, (this.renewedByAgents.get(id) ?? 0) + 1);
          renewed++;
        } else unknown.push(id);
      }
      return this.answer(200, { renewed, released: 0, expired: 0, unknown });
    }
    if (method === 'PUT' && (m = /^\/v1\/pools\/[^/]+\/members\/([^/]+)\/state$/.exec(path))) {
      this.states.set(m[1]!, (JSON.parse(body!) as { state: string }).state);
      return this.answer(200, { id: m[1] });
    }
    if (method === 'POST' && (m = /^\/v1\/waiting\/([^/]+)\/check-in$/.exec(path))) {
      return this.tickets.has(m[1]!) ? this.answer(200, { id: m[1], state: 'waiting' }) : this.answer(410, { code: 'ticket-not-found' });
    }
    if (method === 'DELETE' && (m = /^\/v1\/waiting\/([^/]+)$/.exec(path))) {
      return this.tickets.delete(m[1]!) ? this.answer(204, '') : this.answer(404, { code: 'ticket-not-found' });
    }
    if (method === 'GET' && path === '/metrics') return this.answer(200, 'process_resident_memory_bytes 1.5e+08\n');
    return this.answer(404, { code: 'route-not-found' });
  }
}

describe('k6 scenarios run in a stand-in for k6 against a fake broker', () => {
  let dir: string;
  let tokensFile: string;
  let config: ReturnType<typeof loadAppConfig>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k6-run-'));
    config = loadAppConfig({ BROKER_JWT_SECRET: 'k'.repeat(40), BROKER_PSEUDONYM_KEY: 'p'.repeat(40), BROKER_STATE_DIR: join(dir, 'state') }, process.cwd());
    tokensFile = join(dir, 'tokens.json');
    writeTokensFile(tokensFile, await prepareTokens(config, { count: 300, pool: 'vpn-statenet', ttlSeconds: 24 * 3600 }));
  });
  afterAll(() => {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  function run(script: string, env: Record<string, string>, pool?: ReturnType<typeof poolSpecsFromConfig>[number], ttlMs = 120_000) {
    const meta = JSON.parse(readFileSync(tokensFile, 'utf8')) as { gatewayAgents: Record<string, string>; operator: string };
    const broker = new FakeBroker(pool ?? poolSpecsFromConfig(config.broker).find((p) => p.id === 'vpn-statenet')!, ttlMs, meta.gatewayAgents, meta.operator);
    const rates = new Map<string, boolean[]>();
    const counters = new Map<string, number>();
    const failedChecks: string[] = [];
    const scenario = { iterationInTest: 0, startTime: Date.now() };
    const http = {
      expectedStatuses: () => ({}),
      post: (url: string, body: string | null, params: Params) => broker.request('POST', url, body, params),
      put: (url: string, body: string | null, params: Params) => broker.request('PUT', url, body, params),
      del: (url: string, body: string | null, params: Params) => broker.request('DELETE', url, body, params),
      get: (url: string, params: Params) => broker.request('GET', url, null, params),
      batch: (reqs: [string, string, string | null, Params][]) => reqs.map(([m, u, b, p]) => broker.request(m, u, b, p)),
    };
    let exported: Record<string, (data?: unknown) => unknown> & { options?: unknown } = {};
    jest.isolateModules(() => {
      const metric = (kind: string) =>
        class {
          constructor(readonly name: string) {}
          add(v: number | boolean): void {
            if (kind === 'rate') rates.set(this.name, [...(rates.get(this.name) ?? []), Boolean(v)]);
            else if (kind === 'counter') counters.set(this.name, (counters.get(this.name) ?? 0) + Number(v));
          }
        };
      const check = (value: unknown, sets: Record<string, (v: unknown) => boolean>) => {
        let all = true;
        for (const [name, f] of Object.entries(sets)) {
          if (!f(value)) {
            failedChecks.push(name);
            all = false;
          }
        }
        return all;
      };
      jest.doMock('k6', () => ({ check, sleep: (s: number) => jest.setSystemTime(Date.now() + s * 1000) }), { virtual: true });
      jest.doMock('k6/http', () => ({ __esModule: true, default: http }), { virtual: true });
      jest.doMock('k6/execution', () => ({ __esModule: true, default: { scenario, vu: { idInTest: 1 } } }), { virtual: true });
      jest.doMock('k6/data', () => ({ SharedArray: class extends Array { constructor(_n: string, make: () => unknown[]) { super(); this.push(...make()); } } }), { virtual: true });
      jest.doMock('k6/metrics', () => ({ Counter: metric('counter'), Gauge: metric('gauge'), Rate: metric('rate'), Trend: metric('trend') }), { virtual: true });
      const g = globalThis as Record<string, unknown>;
      g.__ENV = { TOKENS: tokensFile, ...env };
      g.open = (path: string) => readFileSync(path, 'utf8');
      try {
        exported = require(join(root, script));
      } finally {
        delete g.__ENV;
        delete g.open;
      }
    });
    /** Runs `count` iterations of an exported function, as a scenario would. */
    const iterate = (fn: string, count: number, data?: unknown) => {
      scenario.startTime = Date.now();
      for (let i = 0; i < count; i++) {
        scenario.iterationInTest = i;
        exported[fn]!(data);
      }
    };
    const once = (fn: string, data?: unknown) => iterate(fn, 1, data);
    const failures = () => ({
      unexpected: (rates.get('unexpected_responses') ?? []).filter(Boolean).length,
      countChecks: rates.get('broker_count_ok') ?? [],
      lost: counters.get('sessions_lost') ?? 0,
      failedChecks,
    });
    return { exported, broker, iterate, once, failures, counters };
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    jest.spyOn(console, 'log').mockImplementation(() => undefined); // the scripts' progress lines
  });
  afterEach(() => jest.restoreAllMocks());

  it('logon-storm.js: logs everyone on, keeps them alive, and finds the broker counting them at the peak', () => {
    const r = run('logon-storm.js', { TARGET: '300', STORM_DURATION: '60s', HOLD: '150s', SETTLE: '0s', KEEPALIVE_VUS: '1' });
    const data = r.exported.setup!();
    r.iterate('logon', 320); // the plan starts a few iterations more than employees
    expect(r.broker.snapshot().active).toBe(300);
    // One keep-alive VU renews all 300 for the rest of the run (longer than a lease TTL: nothing may expire).
    r.once('keepAliveSessions');
    expect(r.broker.snapshot().active).toBe(300);
    r.once('checkPeak', data);
    r.once('monitor');
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
    expect(r.broker.calls.get('POST /v1/grants/:id/heartbeat')).toBeGreaterThan(300);
  });

  it('logon-storm.js with KEEPALIVE=gateways: one agent per member lists and bulk-renews every session; no heartbeats, nothing lost', () => {
    const r = run('logon-storm.js', { TARGET: '300', STORM_DURATION: '60s', HOLD: '150s', SETTLE: '0s', KEEPALIVE: 'gateways', AGENT_VUS: '1' });
    const options = r.exported.options as { scenarios: Record<string, { vus?: number }> };
    expect(Object.keys(options.scenarios)).not.toContain('keepalive');
    const data = r.exported.setup!();
    r.iterate('logon', 320);
    const held = [...r.broker.grants.keys()];
    expect(held).toHaveLength(300);
    r.once('gatewayKeepAlive'); // one VU plays all 12 agents for the whole run (210 s, renewing every 40 s)
    expect(r.broker.snapshot().active).toBe(300);
    // Every session a logon got was listed and renewed by its member's agent, round after round.
    expect(held.filter((id) => (r.broker.renewedByAgents.get(id) ?? 0) >= 5)).toHaveLength(300);
    expect(r.broker.calls.get('POST /v1/grants/:id/heartbeat')).toBeUndefined();
    const rounds = r.broker.calls.get('GET /v1/pools/vpn-statenet/members/:member/grants')!;
    expect([rounds % 12, rounds / 12]).toEqual([0, 6]); // 12 members, a round at 0, 40, … 200 s
    expect(r.broker.calls.get('POST /v1/pools/vpn-statenet/members/:member/renewals')).toBe(rounds);
    r.once('checkPeak', data);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
  });

  it('logon-storm.js with KEEPALIVE=gateways: sessions the broker drops are counted as lost, and the peak count fails', () => {
    const r = run('logon-storm.js', { TARGET: '300', STORM_DURATION: '60s', HOLD: '150s', SETTLE: '0s', KEEPALIVE: 'gateways', AGENT_VUS: '1' });
    const data = r.exported.setup!();
    r.iterate('logon', 320);
    r.broker.losses.push({ at: Date.now() + 100_000, ids: [...r.broker.grants.keys()].slice(0, 3) });
    r.once('gatewayKeepAlive');
    r.once('checkPeak', data);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [false], lost: 3, failedChecks: ['peak after the storm: broker counts the expected sessions'] });
  });

  it('peak-hold.js: holds the target, renews by heartbeat and by the gateway agents, and counts it', () => {
    const r = run('peak-hold.js', { TARGET: '300', HOLD: '150s', KEEPALIVE_VUS: '1', SETUP_PARALLEL: '50', AGENT_VUS: '1' });
    const data = r.exported.setup!() as { ids: string[] };
    expect(data.ids.filter(Boolean)).toHaveLength(300);
    r.broker.renewedByAgents.clear();
    r.once('agentRenewal', data); // one VU plays all 12 agents for the whole hold
    // Every held session renewed by its member's agent each AGENT_INTERVAL (30 s) of the 150 s hold.
    expect(data.ids.filter((id) => (r.broker.renewedByAgents.get(id) ?? 0) >= 5)).toHaveLength(300);
    r.once('keepAliveSessions', data);
    r.once('checkCount', data);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
    expect(r.broker.calls.get('GET /v1/pools/vpn-statenet/members/:member/grants')).toBe(r.broker.calls.get('POST /v1/pools/vpn-statenet/members/:member/renewals'));
  });

  it('evening-release.js: releases everyone along the curve and the count falls back to what it was', () => {
    const r = run('evening-release.js', { TARGET: '300', RELEASE_DURATION: '60s', KEEPALIVE_VUS: '1', SETTLE: '0s' });
    const data = r.exported.setup!();
    r.iterate('logoff', 310, data);
    r.once('keepAliveSessions', data);
    r.once('checkVerdict', data);
    expect(r.broker.snapshot().active).toBe(0);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
  });

  it('gateway-failure.js (lost): the failed member is taken out, its leases expire, its clients log on elsewhere', () => {
    const r = run('gateway-failure.js', { TARGET: '300', MODE: 'lost', KEEPALIVE_VUS: '1', STEADY: '10s', SWEEP_SLACK: '5s', PHASE: '10s' });
    const data = r.exported.setup!() as { onMember: number[] };
    expect(data.onMember.length).toBe(25); // 300 over 12 gateways
    r.once('fail');
    r.once('keepAliveSessions', data); // runs to the end, without renewing the lost member's sessions
    r.once('checkExpired', data);
    r.iterate('replace', data.onMember.length, data);
    r.once('checkVerdict', data);
    r.exported.teardown!(data);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true, true], lost: 0, failedChecks: [] });
    expect(r.broker.snapshot().active).toBe(300);
  });

  it('overflow.js: grants exactly the capacity, refuses the rest, and those who wait are never offered a seat', () => {
    // A small pool (12 × 20) without guarantees or headroom, which the fake broker does not model.
    const vpn = poolSpecsFromConfig(config.broker).find((p) => p.id === 'vpn-statenet')!;
    const small = { ...vpn, members: vpn.members.map((m) => ({ ...m, maxSessions: 20 })), agencies: vpn.agencies.map((a) => ({ ...a, guaranteed: 0 })), headroom: [] };
    // Played one after another here, the waiters' check-ins take longer than a lease: long leases stand in for the keep-alive running meanwhile.
    const r = run('overflow.js', { DEMAND: '300', ARRIVAL_RATE: '50', WAITING: '20', WAITING_DURATION: '15s', KEEPALIVE_VUS: '1' }, small, 3_600_000);
    r.exported.setup!();
    r.iterate('arrive', 300);
    expect(r.broker.snapshot().active).toBe(240);
    r.iterate('waitInLine', 20);
    r.once('keepAliveSessions');
    r.once('checkVerdict');
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
    expect(r.counters.get('grants_refused')).toBe(60);
    expect(r.counters.get('grants_queued')).toBe(20);
    expect(r.broker.tickets.size).toBe(0);
  });

  it('soak.js: churns logoff and logon while everyone is kept alive, and the count holds', () => {
    const r = run('soak.js', { TARGET: '300', SOAK: '3m', CHURN: '5', KEEPALIVE_VUS: '1' });
    const data = r.exported.setup!();
    r.iterate('churn', 50, data);
    r.once('keepAliveSessions', data);
    r.once('checkCount', data);
    expect(r.failures()).toEqual({ unexpected: 0, countChecks: [true], lost: 0, failedChecks: [] });
    expect(r.counters.get('sessions_released')).toBe(50);
  });
});
