import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'acorn';
import { loadAppConfig } from '../../src/config/config.loader';
import { prepareTokens, writeTokensFile } from '../../load-tests/lib/prepare-tokens';
import { parseDuration } from '../../load-tests/lib/env.js';

/**
 * k6 cannot be installed here, so CI checks what it can without it: every
 * k6 script parses as an ES module, imports only k6's own modules and
 * relative files that exist, and — run in a stand-in for k6's init context —
 * builds options whose scenarios name exported functions and whose
 * thresholds name metrics that exist.
 */
const root = resolve(__dirname, '../../load-tests');
// load-tests/replay-plan.js belongs to the capacity-planning replay, checked with its own tests.
const scripts = readdirSync(root).filter((f) => f.endsWith('.js') && f !== 'replay-plan.js').sort();
const k6Modules = /^k6(\/(http|metrics|data|execution|encoding|crypto|timers|ws|html|net\/grpc|experimental\/[a-z-]+))?$/;

type Node = { type: string; source?: { value: string }; [k: string]: unknown };

/** k6 ≥ 0.53 runs the scripts as they are (no Babel): ES2020 syntax, object spread included. */
const K6_ECMA_VERSION = 2020;

function importsOf(file: string): string[] {
  const ast = parse(readFileSync(file, 'utf8'), { ecmaVersion: K6_ECMA_VERSION, sourceType: 'module' }) as unknown as { body: Node[] };
  return ast.body
    .filter((n) => n.type === 'ImportDeclaration' || ((n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration') && n.source))
    .map((n) => n.source!.value);
}

/** Identifiers a module refers to, and 'await' if it awaits anything. */
function namesUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => namesUsed(n, out));
  else if (node && typeof node === 'object') {
    const n = node as Node & { name?: string };
    if (n.type === 'Identifier' && n.name) out.add(n.name);
    if (n.type === 'AwaitExpression') out.add('await');
    for (const [k, v] of Object.entries(n)) if (k !== 'type' && typeof v === 'object') namesUsed(v, out);
  }
  return out;
}

/** Every file a script reaches through relative imports, itself included. */
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const spec of importsOf(file)) if (spec.startsWith('.')) closure(resolve(dirname(file), spec), seen);
  return seen;
}

describe('k6 scripts', () => {
  it('are the six scenarios of the issue', () => {
    expect(scripts).toEqual(['evening-release.js', 'gateway-failure.js', 'logon-storm.js', 'overflow.js', 'peak-hold.js', 'soak.js']);
  });

  describe.each(scripts)('%s', (script) => {
    const file = join(root, script);

    it('parses as an ES module and imports only k6 modules and relative files that exist', () => {
      for (const f of closure(file)) {
        for (const spec of importsOf(f)) {
          if (spec.startsWith('.')) {
            expect(spec).toMatch(/\.js$/); // k6 resolves files by their exact name
            const target = resolve(dirname(f), spec);
            expect(existsSync(target) ? relative(root, target) : `missing: ${spec} from ${relative(root, f)}`).not.toMatch(/^missing/);
          } else {
            expect(`${relative(root, f)} imports ${spec}`).toMatch(new RegExp(`imports ${k6Modules.source.slice(1, -1)}$`));
          }
        }
      }
    });

    it('uses no Node API, nor a global k6 lacks', () => {
      for (const f of closure(file)) {
        const found = namesUsed(parse(readFileSync(f, 'utf8'), { ecmaVersion: K6_ECMA_VERSION, sourceType: 'module' }));
        expect([relative(root, f), ['require', 'process', 'Buffer', 'setTimeout', 'setInterval', 'await'].filter((n) => found.has(n))]).toEqual([relative(root, f), []]);
      }
    });
  });
});

describe('k6 scripts in a stand-in for the init context', () => {
  let dir: string;
  let tokensFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k6-init-'));
    const config = loadAppConfig({ BROKER_JWT_SECRET: 'k'.repeat(40), BROKER_PSEUDONYM_KEY: 'p'.repeat(40), BROKER_STATE_DIR: join(dir, 'state') }, process.cwd());
    tokensFile = join(dir, 'tokens.json');
    writeTokensFile(tokensFile, await prepareTokens(config, { count: 600, pool: 'vpn-statenet', ttlSeconds: 24 * 3600 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const builtInMetrics = ['http_req_duration', 'http_req_failed', 'http_reqs', 'checks', 'dropped_iterations', 'iteration_duration'];

  /** Loads a script with k6's modules replaced by recording stand-ins; returns its exports and the custom metrics it made. */
  function loadScript(script: string, env: Record<string, string>) {
    const metricNames: string[] = [];
    let exported: Record<string, unknown> = {};
    jest.isolateModules(() => {
      const metric = (kind: string) =>
        class {
          constructor(readonly name: string) {
            metricNames.push(name);
            void kind;
          }
          add(): void {}
        };
      jest.doMock('k6', () => ({ check: () => true, sleep: () => undefined }), { virtual: true });
      jest.doMock('k6/http', () => ({ __esModule: true, default: { expectedStatuses: () => ({}), get: jest.fn(), post: jest.fn(), put: jest.fn(), del: jest.fn(), batch: jest.fn() } }), {
        virtual: true,
      });
      jest.doMock('k6/execution', () => ({ __esModule: true, default: { scenario: {}, vu: {} } }), { virtual: true });
      jest.doMock('k6/data', () => ({ SharedArray: class extends Array { constructor(_name: string, make: () => unknown[]) { super(); this.push(...make()); } } }), { virtual: true });
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
    return { exported, metricNames };
  }

  const small: Record<string, Record<string, string>> = {
    'logon-storm.js': { TARGET: '600', STORM_DURATION: '2m' },
    'peak-hold.js': { TARGET: '600', HOLD: '2m' },
    'overflow.js': { DEMAND: '600', WAITING: '100', ARRIVAL_RATE: '50' },
    'gateway-failure.js': { TARGET: '600', MODE: 'lost' },
    'evening-release.js': { TARGET: '600', RELEASE_DURATION: '2m' },
    'soak.js': { TARGET: '600', SOAK: '10m' },
  };

  it.each(scripts)('%s builds scenarios that run exported functions, and thresholds on metrics that exist', (script) => {
    const { exported, metricNames } = loadScript(script, small[script]!);
    const options = exported.options as { scenarios: Record<string, Record<string, unknown>>; thresholds: Record<string, string[]> };
    expect(Object.keys(options.scenarios).length).toBeGreaterThan(0);
    for (const [name, sc] of Object.entries(options.scenarios)) {
      expect([name, typeof exported[sc.exec as string]]).toEqual([name, 'function']);
      expect(['ramping-arrival-rate', 'constant-arrival-rate', 'per-vu-iterations', 'shared-iterations']).toContain(sc.executor);
      for (const key of ['duration', 'startTime', 'maxDuration', 'timeUnit']) if (sc[key] !== undefined) expect(parseDuration(sc[key] as string)).toBeGreaterThan(-1);
      if (sc.executor === 'ramping-arrival-rate') {
        const stages = sc.stages as { duration: string; target: number }[];
        expect(stages.every((s) => Number.isInteger(s.target) && parseDuration(s.duration) > 0)).toBe(true);
      }
      if (String(sc.executor).endsWith('arrival-rate')) expect(sc.preAllocatedVUs).toBeGreaterThan(0);
    }
    // Every script has at least one arrival-rate scenario, and thresholds on latency, errors, drops and the broker's count.
    expect(Object.values(options.scenarios).some((sc) => String(sc.executor).endsWith('arrival-rate'))).toBe(true);
    const metricsNamed = Object.keys(options.thresholds).map((k) => k.replace(/\{.*\}$/, ''));
    for (const m of metricsNamed) expect(builtInMetrics.concat(metricNames)).toContain(m);
    for (const m of ['http_req_duration', 'unexpected_responses', 'dropped_iterations', 'broker_count_ok']) expect(metricsNamed).toContain(m);
    for (const t of Object.values(options.thresholds).flat()) expect(t).toMatch(/^(p\(\d+(\.\d+)?\)|rate|count|max|min|avg|med)\s*(<|<=|>|>=|==)\s*[\d.]+$/);
  });

  it('logon-storm.js with KEEPALIVE=gateways: one agent VU per member instead of the heartbeating clients, with bulk-renewal thresholds', () => {
    const { exported, metricNames } = loadScript('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m', KEEPALIVE: 'gateways' });
    const options = exported.options as { scenarios: Record<string, { executor: string; vus?: number; exec: string }>; thresholds: Record<string, string[]> };
    expect(Object.keys(options.scenarios).sort()).toEqual(['agents', 'logons', 'monitor', 'peak']);
    expect(options.scenarios.agents).toMatchObject({ executor: 'per-vu-iterations', vus: 12, exec: 'gatewayKeepAlive' });
    expect(typeof exported.gatewayKeepAlive).toBe('function');
    expect(options.thresholds).toMatchObject({
      'http_req_duration{scenario:agents,name:bulk-renewal}': ['p(95)<250', 'p(99)<500'],
      'http_req_duration{scenario:agents,name:member-grants}': ['p(95)<250', 'p(99)<500'],
      'checks{scenario:agents}': ['rate==1'],
      sessions_lost: ['count==0'],
      broker_count_ok: ['rate==1'],
    });
    expect(Object.keys(options.thresholds).filter((k) => k.includes('heartbeat'))).toEqual([]);
    for (const m of Object.keys(options.thresholds).map((k) => k.replace(/\{.*\}$/, ''))) expect(builtInMetrics.concat(metricNames)).toContain(m);
    // The clients' mode is the default, and stays as it was.
    const clients = loadScript('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m' }).exported.options as { scenarios: Record<string, unknown>; thresholds: Record<string, unknown> };
    expect(Object.keys(clients.scenarios).sort()).toEqual(['keepalive', 'logons', 'monitor', 'peak']);
    expect(clients.thresholds['http_req_duration{scenario:keepalive,name:heartbeat}']).toEqual(['p(95)<100', 'p(99)<250']);
    expect(() => loadScript('logon-storm.js', { TARGET: '600', KEEPALIVE: 'agents' })).toThrow('KEEPALIVE must be one of clients, gateways');
  });

  it('stops before a run whose settings cannot work, saying why', () => {
    expect(() => loadScript('logon-storm.js', { TARGET: '601' })).toThrow('the tokens file has 600');
    expect(() => loadScript('peak-hold.js', { TARGET: '10', RENEW_INTERVAL: '90s' })).toThrow('more than half the lease TTL');
    expect(() => loadScript('overflow.js', { DEMAND: '600', RENEW_INTERVAL: '70s' })).toThrow('more than half the lease TTL');
    expect(() => loadScript('gateway-failure.js', { TARGET: '10', MEMBER: 'gw-99' })).toThrow('MEMBER gw-99 is not a member');
    expect(() => loadScript('soak.js', { TARGET: '10', SOAK: '30h' })).toThrow('before the soak ends');
    expect(() => loadScript('peak-hold.js', { TARGET: '10', POOL: 'vdi-desktop' })).toThrow('prepared for pool vpn-statenet');
  });

  it('gives the keep-alive as many VUs as the renewals per second need, unless KEEPALIVE_VUS says otherwise', () => {
    const vus = (script: string, env: Record<string, string>) =>
      ((loadScript(script, env).exported.options as { scenarios: { keepalive: { vus: number } } }).scenarios.keepalive.vus);
    // 600 sessions every 40 s = 15 renewals/s; answers up to the p95 threshold of 100 ms, twice over: 3 VUs.
    expect(vus('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m' })).toBe(3);
    expect(vus('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m', RENEW_INTERVAL: '10s' })).toBe(12);
    expect(vus('peak-hold.js', { TARGET: '600', HOLD: '2m', P95_MS: '400' })).toBe(12);
    expect(vus('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m', KEEPALIVE_VUS: '7' })).toBe(7);
  });

  it('plays the morning curve in the storm: at least TARGET logons', () => {
    const { exported } = loadScript('logon-storm.js', { TARGET: '600', STORM_DURATION: '2m' });
    const logons = (exported.options as { scenarios: { logons: { startRate: number; timeUnit: string; stages: { duration: string; target: number }[] } } }).scenarios.logons;
    let prev = logons.startRate;
    let n = 0;
    for (const s of logons.stages) {
      n += ((prev + s.target) / 2) * (parseDuration(s.duration) / parseDuration(logons.timeUnit));
      prev = s.target;
    }
    expect(n).toBeGreaterThanOrEqual(600);
    expect(n).toBeLessThan(660);
  });
});
