import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'acorn';
import { loadAppConfig } from '../../../src/config/config.loader';
import { prepareTokens, writeTokensFile } from '../../../load-tests/lib/prepare-tokens';
import { counterNames } from '../../../load-tests/lib/replay/summary.js';
import { runPlan } from '../../../src/planning/planner';
import { compareReplay, replayResultSchema } from '../../../src/planning/replay/replay-compare';
import { buildReplaySchedule, type ReplaySchedule } from '../../../src/planning/replay/replay-schedule';
import { loadScenario } from '../../../src/planning/scenario.loader';
import type { Scenario } from '../../../src/planning/scenario.schema';

/**
 * k6 cannot be installed here: load-tests/replay-plan.js is parsed, checked for what k6 lacks, and
 * run — init, setup(), the replay itself and handleSummary() — in a stand-in for k6 whose HTTP
 * answers come from a broker of exactly the planned capacity, on a fake clock.
 */
const root = resolve(__dirname, '../../../load-tests');
const script = join(root, 'replay-plan.js');
const k6Modules = /^k6(\/(http|metrics|data|execution))?$/;

type Node = { type: string; source?: { value: string }; name?: string; [k: string]: unknown };
const ast = (file: string) => parse(readFileSync(file, 'utf8'), { ecmaVersion: 2022, sourceType: 'module' }) as unknown as { body: Node[] };
const importsOf = (file: string) =>
  ast(file)
    .body.filter((n) => n.type === 'ImportDeclaration' || ((n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration') && n.source))
    .map((n) => n.source!.value);
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const spec of importsOf(file)) if (spec.startsWith('.')) closure(resolve(dirname(file), spec), seen);
  return seen;
}
function namesUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => namesUsed(n, out));
  else if (node && typeof node === 'object') {
    const n = node as Node;
    if (n.type === 'Identifier' && n.name) out.add(n.name);
    if (n.type === 'AwaitExpression') out.add('await');
    for (const [k, v] of Object.entries(n)) if (k !== 'type' && typeof v === 'object') namesUsed(v, out);
  }
  return out;
}

/** The small test scenario, on the pools of config/broker.yaml (the tokens are minted for them), tight enough to refuse. */
function scenario(): Scenario {
  const s = loadScenario(resolve(__dirname, '../fixtures/small.yaml'));
  const ids: Record<string, string> = { vpn: 'vpn-statenet', vdi: 'vdi-desktop' };
  s.pools.forEach((p) => (p.id = ids[p.id]!));
  s.pools[0]!.capacity = 420;
  s.pools[1]!.capacity = 45;
  s.split = { 'vpn-statenet': 0.9, 'vdi-desktop': 0.1 };
  s.agencies[1]!.split = { 'vpn-statenet': 0.8, 'vdi-desktop': 0.2 };
  return s;
}

describe('load-tests/replay-plan.js', () => {
  it('parses as an ES module, imports only k6 modules and files that exist, and uses no Node API nor await', () => {
    for (const f of closure(script)) {
      for (const spec of importsOf(f)) {
        if (spec.startsWith('.')) {
          expect(spec).toMatch(/\.js$/);
          expect(existsSync(resolve(dirname(f), spec)) ? spec : `missing ${spec} from ${relative(root, f)}`).toBe(spec);
        } else expect(`${relative(root, f)}: ${spec}`).toMatch(new RegExp(`: ${k6Modules.source.slice(1, -1)}$`));
      }
      const found = namesUsed(ast(f));
      expect([relative(root, f), ['require', 'process', 'Buffer', 'setTimeout', 'setInterval', 'await'].filter((n) => found.has(n))]).toEqual([relative(root, f), []]);
    }
  });

  describe('in a stand-in for k6', () => {
    let dir: string;
    let schedule: ReplaySchedule;
    let scheduleFile: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'replay-k6-'));
      schedule = buildReplaySchedule(runPlan(scenario()), { replication: 2, compress: 240 });
      scheduleFile = join(dir, 'replay-schedule.json');
      writeFileSync(scheduleFile, JSON.stringify(schedule));
      const config = loadAppConfig({ BROKER_JWT_SECRET: 'k'.repeat(40), BROKER_PSEUDONYM_KEY: 'p'.repeat(40), BROKER_STATE_DIR: join(dir, 'state') }, process.cwd());
      for (const p of schedule.pools) {
        writeTokensFile(join(dir, `tokens-${p.id}.json`), await prepareTokens(config, { count: p.employees, pool: p.id, ttlSeconds: 24 * 3600 }));
      }
    });
    afterAll(() => {
      jest.useRealTimers();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Loads the script with k6's modules replaced by stand-ins that talk to a broker of exactly the planned capacity. */
    function load(env: Record<string, string>) {
      const counts = new Map<string, number>();
      const created: string[] = [];
      const vu = { idInTest: 1 };
      const capacity = new Map(schedule.pools.map((p) => [p.id, p.capacity]));
      const active = new Map(schedule.pools.map((p) => [p.id, 0]));
      const held = new Map<string, string>(); // pool + token → grant id
      const grants = new Map<string, { pool: string; key: string }>();
      let next = 0;
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
        status,
        headers,
        json: (path?: string) => (path === undefined ? body : (body as Record<string, unknown>)[path]),
      });
      const http = {
        expectedStatuses: () => ({}),
        post(url: string, body: string | null, params: { headers: Record<string, string> }) {
          const token = params.headers.Authorization!.slice('Bearer '.length);
          const hb = /\/v1\/grants\/([^/]+)\/heartbeat$/.exec(url);
          if (hb) return grants.has(hb[1]!) ? answer(200, { id: hb[1], member: 'm1' }) : answer(404, { code: 'grant-not-found' });
          const { pool } = JSON.parse(body!) as { pool: string };
          const key = `${pool} ${token}`;
          if (held.has(key)) return answer(200, { id: held.get(key), pool, member: 'm1' });
          if (active.get(pool)! >= capacity.get(pool)!) return answer(503, { code: 'pool-full' }, { 'Retry-After': '60' });
          active.set(pool, active.get(pool)! + 1);
          const id = `g${next++}`;
          held.set(key, id);
          grants.set(id, { pool, key });
          return answer(201, { id, pool, member: 'm1', agency: 'x', fencingToken: next });
        },
        del(url: string) {
          const id = /\/v1\/grants\/([^/]+)$/.exec(url)![1]!;
          const g = grants.get(id);
          if (!g) return answer(404, { code: 'grant-not-found' });
          grants.delete(id);
          held.delete(g.key);
          active.set(g.pool, active.get(g.pool)! - 1);
          return answer(204, null);
        },
        get(url: string) {
          const pool = /\/v1\/pools\/([^/]+)$/.exec(url)![1]!;
          return answer(200, { id: pool, capacity: capacity.get(pool), active: active.get(pool), licenceLimit: null, members: [{ maxSessions: capacity.get(pool) }] });
        },
      };
      let exported: Record<string, (...a: unknown[]) => unknown> & { options?: any } = {};
      jest.isolateModules(() => {
        const metric = class {
          constructor(readonly name: string) {
            created.push(name);
          }
          add(n: number | boolean): void {
            counts.set(this.name, (counts.get(this.name) ?? 0) + Number(n));
          }
        };
        jest.doMock('k6', () => ({ check: () => true, sleep: (s: number) => jest.setSystemTime(Date.now() + s * 1000) }), { virtual: true });
        jest.doMock('k6/http', () => ({ __esModule: true, default: http }), { virtual: true });
        jest.doMock('k6/execution', () => ({ __esModule: true, default: { vu, scenario: {} } }), { virtual: true });
        jest.doMock('k6/data', () => ({ SharedArray: class extends Array { constructor(_n: string, make: () => unknown[]) { super(); this.push(...make()); } } }), { virtual: true });
        jest.doMock('k6/metrics', () => ({ Counter: metric, Gauge: metric, Rate: metric, Trend: metric }), { virtual: true });
        const g = globalThis as Record<string, unknown>;
        g.__ENV = { SCHEDULE: scheduleFile, TOKENS: join(dir, 'tokens-{pool}.json'), ...env };
        g.open = (path: string) => readFileSync(path, 'utf8');
        try {
          exported = require(script);
        } finally {
          delete g.__ENV;
          delete g.open;
        }
      });
      return { exported, counts, created, vu, active };
    }

    it('builds one per-vu-iterations scenario over the lanes, with thresholds on metrics that exist', () => {
      jest.useFakeTimers({ now: 1_700_000_000_000 });
      const { exported, created } = load({ LANES: '16' });
      const sc = exported.options.scenarios.replay;
      expect(sc).toMatchObject({ executor: 'per-vu-iterations', vus: 16, iterations: 1, exec: 'replay' });
      expect(typeof exported.replay).toBe('function');
      expect(typeof exported.setup).toBe('function');
      expect(typeof exported.handleSummary).toBe('function');
      for (const name of counterNames(2)) expect(created).toContain(name);
      for (const m of Object.keys(exported.options.thresholds)) expect(created).toContain(m);
    });

    it('stops before a run whose tokens do not fit, saying what to run', () => {
      expect(() => load({ TOKENS: join(dir, 'tokens-vpn-statenet.json') })).toThrow(/holds tokens for pool vpn-statenet, not vdi-desktop: npm run loadtest:prepare -- --pool vdi-desktop --count \d+/);
      expect(() => load({ SCHEDULE: '' })).toThrow('SCHEDULE must name the replay-schedule.json');
    });

    it('replays the day: a broker of the planned capacity refuses what the simulation predicted', () => {
      jest.useFakeTimers({ now: 1_700_000_000_000 });
      const { exported, counts, active } = load({ LANES: '1', COMPRESS: '240', RESULT: 'result.json' });
      const data = exported.setup!() as { startMs: number; capacities: number[] };
      expect(data.capacities).toEqual([420, 45]);
      exported.replay!(data);
      expect([...active.values()]).toEqual([0, 0]);
      const metrics = Object.fromEntries([...counts].map(([name, count]) => [name, { values: { count } }]));
      const out = exported.handleSummary!({ metrics, setup_data: data }) as Record<string, string>;
      expect(out.stdout).toContain('vpn-statenet:');
      const result = replayResultSchema.parse(JSON.parse(out['result.json']!));
      const comparison = compareReplay(schedule, result);
      expect(comparison.agrees).toBe(true);
      comparison.pools.forEach((p) => {
        expect(p.observed.refused).toBe(p.predicted.refused);
        expect(p.observed.attempts).toBe(p.predicted.attempts);
        expect(p.observed.gaveUp).toBe(p.predicted.gaveUp);
        expect(p.notes).toEqual([]);
      });
      expect(counts.get('unexpected_responses')).toBe(0);
    });
  });
});
