/**
 * npm run bench — the broker at 60,000 held sessions, with Node alone.
 *
 * Starts its own redis-server (loopback, 6390–6399), builds the broker into
 * bench-results/build and runs it on Redis and on the embedded store (HTTP on
 * 18000–18099), and measures in the same run:
 *
 * - the logon storm: time to HELD grants, with zero errors;
 * - latency p50/p95/p99 of grants, heartbeats and releases under a steady
 *   mixed load at HELD held;
 * - the highest admission throughput (grant + release pairs) beside two
 *   baselines measured on the same machine: a bare Fastify route and a small
 *   Fastify service doing redis-semaphore acquire + release on the same Redis;
 * - Redis memory per active grant, the broker's memory at HELD, and the time
 *   to reclaim HELD leases once they stop being renewed.
 *
 * Load comes from autocannon; every address is 127.0.0.1. It prints a table
 * and writes bench-results/bench-<time>.{json,md} (and latest.{json,md}).
 *
 *   npm run bench                          # full run, both stores, ~8 minutes
 *   npm run bench -- --quick               # 6,000 held, short phases: a smoke run
 *   npm run bench -- --store redis --profile   # also a CPU profile of the broker (node --cpu-prof)
 *   npm run bench -- --commit HEAD         # the committed broker, not the working tree
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { loadAppConfig } from '../src/config/config.loader';
import { prepareTokens, type TokensFile } from '../load-tests/lib/prepare-tokens';
import { ceiling, OpRecorder, Tracked, type LatencySummary } from './lib/load';
import { cpuSeconds, freePort, HTTP_PORTS, REDIS_PORTS, rssBytes, sleep, startNode, startRedis, stop } from './lib/processes';
import { hotSpots, type HotSpot } from './lib/profile';
import { renderMarkdown, renderTable, targetsOf } from './lib/report';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench-results');
const BUILD = join(OUT, 'build');
const CONFIG = join(ROOT, 'bench', 'broker.bench.yaml');
const POOL = 'vpn-statenet';
/** The key bench/servers/semaphore-service.ts counts on. */
const SEMAPHORE_KEY = 'bench-semaphore-vpn';

export interface Settings {
  held: number;
  stormConnections: number;
  mixedSeconds: number;
  mixedRate: number;
  mixedConnections: number;
  throughputSeconds: number;
  throughputConnections: number;
  stores: ('redis' | 'memory')[];
  baselines: boolean;
  profile: boolean;
  quick: boolean;
  /** Reuse bench-results/build as it is (developing the benchmark itself). */
  noBuild: boolean;
  /** Measure the broker of this commit rather than the working tree. */
  commit: string | null;
}

export interface BrokerFigures {
  store: 'redis' | 'memory';
  held: number;
  storm: { seconds: number; grantsPerSecond: number; created: number; errors: number; statuses: string; latency: LatencySummary; brokerCpuSeconds: number | null };
  countAtPeak: number | null;
  memory: {
    redisUsedBaseline: number | null;
    redisUsedAtPeak: number | null;
    redisBytesPerGrant: number | null;
    /** Redis memory at the peak by key shape (MEMORY USAGE), largest first. */
    redisByKey: { key: string; keys: number; bytes: number }[] | null;
    brokerRssIdle: number | null;
    brokerRssAtPeak: number | null;
  };
  mixed: {
    seconds: number;
    offeredPerSecond: number;
    achievedPerSecond: number;
    grant: LatencySummary;
    heartbeat: LatencySummary;
    release: LatencySummary;
    errors: number;
    /** Share of one core the broker process used during the phase. */
    brokerCpuShare: number | null;
  };
  throughput: {
    seconds: number;
    connections: number;
    pairsPerSecond: number;
    requestsPerSecond: number;
    grant: LatencySummary;
    release: LatencySummary;
    errors: number;
    brokerCpuShare: number | null;
  };
  bulkRenewal: LatencySummary & { idsPerRequest: number };
  /**
   * The two baselines, measured right after this store's throughput phase while the broker sits idle
   * holding its sessions (the semaphore on the same Redis), so the ratios compare like with like
   * even when other work on the machine comes and goes.
   */
  baselines: Baselines;
  reclaim: { leases: number; secondsAfterLastExpiry: number | null; secondsAfterFirstExpiry: number | null; leftAfterWait: number | null };
  profile?: { totalMs: number; spots: HotSpot[]; byArea: { area: string; share: number }[] };
}

export interface Baselines {
  bare: { requestsPerSecond: number; p99: number; errors: number } | null;
  semaphore: { pairsPerSecond: number; requestsPerSecond: number; acquire: LatencySummary; release: LatencySummary; errors: number } | null;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  /** The broker measured: a commit, or the working tree on top of one. */
  revision: string;
  machine: { cpus: string; cores: number; memoryGiB: number; node: string; os: string; redis: string; loadAverageBefore: number[]; loadAverageAfter?: number[] };
  settings: Settings;
  brokers: BrokerFigures[];
  /** Stores whose run failed, and why. */
  failures: { store: string; error: string }[];
}

function settingsFrom(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      store: { type: 'string', default: 'both' },
      held: { type: 'string' },
      'no-baselines': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'mixed-seconds': { type: 'string' },
      'throughput-seconds': { type: 'string' },
      connections: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      commit: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick!;
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const held = num(values.held, quick ? 6000 : 60000);
  if (!Number.isInteger(held) || held < 100 || held > 60000) throw new Error('--held must be a whole number between 100 and 60000 (the pool holds 60,000)');
  const store = values.store!;
  if (!['redis', 'memory', 'both'].includes(store)) throw new Error('--store must be redis, memory or both');
  return {
    held,
    stormConnections: 64,
    mixedSeconds: num(values['mixed-seconds'], quick ? 10 : 30),
    mixedRate: 2000,
    mixedConnections: 16,
    throughputSeconds: num(values['throughput-seconds'], quick ? 5 : 10),
    throughputConnections: num(values.connections, 32),
    stores: store === 'both' ? ['redis', 'memory'] : [store as 'redis' | 'memory'],
    baselines: !values['no-baselines'],
    profile: values.profile!,
    quick,
    noBuild: values['no-build']!,
    commit: values.commit ?? null,
  };
}

const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

/**
 * Compiles the broker into bench-results/build with every non-TypeScript file of src/ beside it (Lua
 * scripts, pages): the working tree, or with `commit` the sources of that commit (git archive into
 * bench-results/snapshot), so a run measures exactly one revision whatever is being edited.
 */
function buildBroker(commit: string | null): void {
  rmSync(BUILD, { recursive: true, force: true });
  let from = ROOT;
  if (commit) {
    from = join(OUT, 'snapshot');
    rmSync(from, { recursive: true, force: true });
    mkdirSync(from, { recursive: true });
    const tar = spawnSync('sh', ['-c', `git archive --format=tar "$0" src tsconfig.json tsconfig.build.json | tar -x -C "$1"`, commit, from], { cwd: ROOT, encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`cannot take the sources of ${commit}: ${tar.stderr}`);
  }
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(from, 'tsconfig.build.json'), '--outDir', BUILD], { cwd: from, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the broker does not compile:\n${r.stdout}${r.stderr}`);
  cpSync(join(from, 'src'), BUILD, { recursive: true, filter: (src) => !src.endsWith('.ts') });
}

function share(before: number | null, after: number | null, seconds: number): number | null {
  return before === null || after === null ? null : (after - before) / seconds;
}

async function redisUsedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** MEMORY USAGE of every key, grouped by shape (ids and members replaced by placeholders). */
async function redisMemoryByKey(client: Redis): Promise<{ key: string; keys: number; bytes: number }[]> {
  const groups = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const bytes = Number(await client.memory('USAGE', key, 'SAMPLES', '0'));
      const shape = key.replace(/(exp|idem|ticket|m):[^:]+/g, '$1:<…>').replace(/:gw-\d+/g, ':<member>').replace(/:\d+$/, ':<n>');
      const g = groups.get(shape) ?? { keys: 0, bytes: 0 };
      g.keys += 1;
      g.bytes += bytes;
      groups.set(shape, g);
    }
  } while (cursor !== '0');
  return [...groups.entries()].map(([key, g]) => ({ key, ...g })).sort((a, b) => b.bytes - a.bytes);
}

async function poolActive(base: string, operator: string): Promise<number> {
  const res = await fetch(`${base}/v1/pools/${POOL}`, { headers: auth(operator) });
  if (!res.ok) throw new Error(`GET /v1/pools/${POOL} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { active: number }).active;
}

/** Which grant each synthetic employee holds now, and on which member. */
class Held {
  readonly ids: (string | undefined)[];
  readonly members: (string | undefined)[];
  constructor(n: number) {
    this.ids = new Array(n);
    this.members = new Array(n);
  }
  set(e: number, body: string): boolean {
    try {
      const g = JSON.parse(body) as { id: string; member: string };
      this.ids[e] = g.id;
      this.members[e] = g.member;
      return true;
    } catch {
      return false;
    }
  }
  clear(e: number): void {
    this.ids[e] = undefined;
    this.members[e] = undefined;
  }
  byMember(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    this.ids.forEach((id, e) => {
      if (!id) return;
      const m = this.members[e]!;
      let list = out.get(m);
      if (!list) out.set(m, (list = []));
      list.push(id);
    });
    return out;
  }
  count(): number {
    return this.ids.reduce((n, id) => n + (id ? 1 : 0), 0);
  }
}

/**
 * Asks the broker what employee `e` holds and records it; if nothing, grants again. For the few
 * employees whose request was in flight when autocannon stopped, so their answer was never seen.
 */
async function reconcile(base: string, tokens: TokensFile, held: Held, e: number): Promise<void> {
  const token = tokens.employees[e]!.token;
  const mine = (await (await fetch(`${base}/v1/grants`, { headers: auth(token) })).json()) as { id: string; pool: string; member: string }[];
  const live = mine.find((g) => g.pool === POOL);
  if (live) {
    held.set(e, JSON.stringify(live));
    return;
  }
  const res = await fetch(`${base}/v1/grants`, { method: 'POST', headers: json(token), body: JSON.stringify({ pool: POOL, clientId: 'bench' }) });
  if (res.ok) held.set(e, await res.text());
  else held.clear(e);
}

/** The gateway agents: one bulk renewal per member reporting every session it carries, as production gateways do. */
async function renewalRound(base: string, tokens: TokensFile, held: Held, recorder: OpRecorder): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  for (const [member, ids] of held.byMember()) {
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/pools/${POOL}/members/${member}/renewals`, {
      method: 'POST',
      headers: json(tokens.gatewayAgents[member]!),
      body: JSON.stringify({ active: ids, ended: [] }),
    });
    const body = (await res.json()) as { renewed?: number; expired?: number };
    const ok = res.ok && body.renewed === ids.length && body.expired === 0;
    recorder.record('bulk-renewal', performance.now() - t0, ok, res.status);
    if (!ok) log(`bulk renewal of ${member}: ${res.status} ${JSON.stringify(body)} for ${ids.length} ids`);
  }
  return { startedAt, endedAt: Date.now() };
}

async function benchBroker(
  store: 'redis' | 'memory',
  s: Settings,
  tokens: TokensFile,
  secrets: { jwt: string; pseudonym: string },
  redis: { port: number; client: Redis },
  ports: number[],
): Promise<BrokerFigures> {
  const port = ports[2]!;
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    BROKER_CONFIG: CONFIG,
    LOG_LEVEL: 'silent',
    BROKER_JWT_SECRET: secrets.jwt,
    BROKER_PSEUDONYM_KEY: secrets.pseudonym,
    BROKER_STATE_DIR: join(OUT, 'state'),
    ...(store === 'redis' ? { REDIS_URL: `redis://127.0.0.1:${redis.port}`, REDIS_KEY_PREFIX: 'bench:' } : {}),
  };
  const profileDir = join(OUT, 'profiles', store);
  // --cpu-prof writes its file at a normal exit only: the preload turns SIGTERM into one.
  const nodeArgs = s.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '-r', join(ROOT, 'bench', 'lib', 'exit-on-sigterm.js')] : [];
  if (s.profile) rmSync(profileDir, { recursive: true, force: true });
  await redis.client.flushall(); // our own redis-server on a bench port, never the shared one
  const broker = await startNode(`broker (${store})`, [...nodeArgs, join(BUILD, 'main.js')], env, `${base}/health/ready`);
  const pid = broker.child.pid!;
  const n = s.held;
  const held = new Held(n);
  const recorder = new OpRecorder();
  let figures: BrokerFigures;
  try {
    await sleep(1000);
    const redisUsedBaseline = store === 'redis' ? await redisUsedMemory(redis.client) : null;
    const brokerRssIdle = rssBytes(pid);

    // 1. The logon storm: n distinct employees, each one grant, as fast as the broker admits them.
    log(`${store}: logon storm to ${n} grants over ${s.stormConnections} connections`);
    const storm = new Tracked(recorder);
    let next = 0;
    let keepAlive = true;
    const agents = (async () => {
      // Leases live 60 s (bench/broker.bench.yaml): if the storm runs long, the gateways renew meanwhile.
      for (;;) {
        for (let t = 0; t < 200 && keepAlive; t++) await sleep(100);
        if (!keepAlive) return;
        await renewalRound(base, tokens, held, recorder);
      }
    })();
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await storm.run({
      url: base,
      connections: s.stormConnections,
      amount: n,
      requests: [
        storm.request(
          'storm-grant',
          {
            method: 'POST',
            path: '/v1/grants',
            setupRequest: (req, ctx) => {
              const e = next++;
              ctx.e = e;
              return { ...req, headers: json(tokens.employees[e]!.token), body: JSON.stringify({ pool: POOL, clientId: 'bench' }) };
            },
          },
          (status, body, ctx) => status === 201 && held.set(ctx.e as number, body),
        ),
      ],
    });
    const stormSeconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(pid);
    keepAlive = false;
    await agents;
    const stormLatency = recorder.summary('storm-grant');
    const created = held.count();
    const countAtPeak = await poolActive(base, tokens.operator);
    const redisUsedAtPeak = store === 'redis' ? await redisUsedMemory(redis.client) : null;
    const redisByKey = store === 'redis' ? await redisMemoryByKey(redis.client) : null;
    const brokerRssAtPeak = rssBytes(pid);
    log(`${store}: ${created} grants in ${stormSeconds.toFixed(2)} s; broker counts ${countAtPeak}`);

    // 2. Steady mixed load at n held: heartbeats on most sessions, release + grant pairs on the rest.
    await renewalRound(base, tokens, held, recorder);
    const churnCount = Math.max(s.mixedConnections * 4, Math.floor(n / 10));
    const hbCount = n - churnCount;
    const churnQueue: number[] = [];
    for (let e = hbCount; e < n; e++) if (held.ids[e]) churnQueue.push(e);
    const inFlight = new Set<number>();
    log(`${store}: mixed load ${s.mixedRate} ops/s for ${s.mixedSeconds} s (heartbeats ${s.mixedRate / 2}/s, release+grant ${s.mixedRate / 2}/s)`);
    const hb = new Tracked(recorder);
    let hbNext = 0;
    const churn = new Tracked(recorder);
    const mixedCpu0 = cpuSeconds(pid);
    const mixedStart = performance.now();
    await Promise.all([
      hb.run({
        url: base,
        connections: s.mixedConnections,
        overallRate: s.mixedRate / 2,
        duration: s.mixedSeconds,
        requests: [
          hb.request(
            'heartbeat',
            {
              method: 'POST',
              setupRequest: (req) => {
                const e = hbNext++ % hbCount;
                return { ...req, path: `/v1/grants/${held.ids[e]}/heartbeat`, headers: auth(tokens.employees[e]!.token) };
              },
            },
            (status) => status === 200,
          ),
        ],
      }),
      churn.run({
        url: base,
        connections: s.mixedConnections,
        overallRate: s.mixedRate / 2,
        duration: s.mixedSeconds,
        requests: [
          churn.request(
            'release',
            {
              method: 'DELETE',
              setupRequest: (req, ctx) => {
                const e = churnQueue.shift()!;
                ctx.e = e;
                inFlight.add(e);
                return { ...req, path: `/v1/grants/${held.ids[e]}`, headers: auth(tokens.employees[e]!.token) };
              },
            },
            (status, _body, ctx) => {
              if (status === 204) held.clear(ctx.e as number);
              return status === 204;
            },
          ),
          churn.request(
            'grant',
            {
              method: 'POST',
              path: '/v1/grants',
              setupRequest: (req, ctx) => ({ ...req, headers: json(tokens.employees[ctx.e as number]!.token), body: JSON.stringify({ pool: POOL, clientId: 'bench' }) }),
            },
            (status, body, ctx) => {
              const ok = (status === 201 || status === 200) && held.set(ctx.e as number, body);
              churnQueue.push(ctx.e as number);
              inFlight.delete(ctx.e as number);
              return ok;
            },
          ),
        ],
      }),
    ]);
    const mixedSeconds = (performance.now() - mixedStart) / 1000;
    const mixedCpu = share(mixedCpu0, cpuSeconds(pid), mixedSeconds);
    for (const e of inFlight) await reconcile(base, tokens, held, e);
    const mixedOps = ['heartbeat', 'grant', 'release'].map((op) => recorder.summary(op));
    const mixedErrors = mixedOps.reduce((x, o) => x + o.errors, 0);

    // 3. Highest admission throughput: grant + release pairs, unthrottled, at n − connections held.
    await renewalRound(base, tokens, held, recorder);
    const free: number[] = [];
    for (let k = 0; k < s.throughputConnections && churnQueue.length > 0; k++) {
      const e = churnQueue.shift()!;
      await fetch(`${base}/v1/grants/${held.ids[e]}`, { method: 'DELETE', headers: auth(tokens.employees[e]!.token) });
      held.clear(e);
      free.push(e);
    }
    const tpEmployees = free.slice();
    log(`${store}: admission throughput, grant + release pairs over ${s.throughputConnections} connections for ${s.throughputSeconds} s`);
    const tp = new Tracked(recorder);
    const tpCpu0 = cpuSeconds(pid);
    const tpStart = performance.now();
    await tp.run({
      url: base,
      connections: s.throughputConnections,
      duration: s.throughputSeconds,
      requests: [
        tp.request(
          'tp-grant',
          {
            method: 'POST',
            path: '/v1/grants',
            setupRequest: (req, ctx) => {
              const e = free.shift()!;
              ctx.e = e;
              return { ...req, headers: json(tokens.employees[e]!.token), body: JSON.stringify({ pool: POOL, clientId: 'bench' }) };
            },
          },
          (status, body, ctx) => {
            const ok = status === 201 && held.set(ctx.e as number, body);
            if (!ok) free.push(ctx.e as number);
            else ctx.id = held.ids[ctx.e as number];
            return ok;
          },
        ),
        tp.request(
          'tp-release',
          {
            method: 'DELETE',
            setupRequest: (req, ctx) => (ctx.id ? { ...req, path: `/v1/grants/${ctx.id as string}`, headers: auth(tokens.employees[ctx.e as number]!.token) } : null),
          },
          (status, _body, ctx) => {
            held.clear(ctx.e as number);
            free.push(ctx.e as number);
            return status === 204;
          },
        ),
      ],
    });
    const tpSeconds = (performance.now() - tpStart) / 1000;
    const tpCpu = share(tpCpu0, cpuSeconds(pid), tpSeconds);
    const tpGrant = recorder.summary('tp-grant');
    const tpRelease = recorder.summary('tp-release');
    // Back to n held before the reclaim measurement (some answers were in flight when autocannon stopped).
    for (const e of tpEmployees) await reconcile(base, tokens, held, e);

    // The baselines, now, while the broker holds its sessions idle.
    let baseline: Baselines = { bare: null, semaphore: null };
    if (s.baselines) {
      await renewalRound(base, tokens, held, recorder);
      baseline = await baselines(s, redis, ports);
    }

    // 4. Reclaim: the gateways renew everything once more, then nobody renews; all leases expire together.
    const leases = held.count();
    const round = await renewalRound(base, tokens, held, recorder);
    const ttlMs = 60_000;
    log(`${store}: ${leases} leases renewed a last time; waiting ${ttlMs / 1000} s for them to expire and be reclaimed`);
    let zeroAt: number | null = null;
    let left: number | null = null;
    const giveUp = round.endedAt + ttlMs + 60_000;
    await sleep(Math.max(0, round.startedAt + ttlMs - 1000 - Date.now()));
    while (Date.now() < giveUp) {
      left = await poolActive(base, tokens.operator);
      if (left === 0) {
        zeroAt = Date.now();
        break;
      }
      await sleep(100);
    }
    figures = {
      store,
      held: n,
      storm: {
        seconds: stormSeconds,
        grantsPerSecond: created / stormSeconds,
        created,
        errors: stormLatency.errors,
        statuses: recorder.statusText('storm-grant'),
        latency: stormLatency,
        brokerCpuSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
      },
      countAtPeak,
      memory: {
        redisUsedBaseline,
        redisUsedAtPeak,
        redisBytesPerGrant: redisUsedBaseline !== null && redisUsedAtPeak !== null ? (redisUsedAtPeak - redisUsedBaseline) / created : null,
        redisByKey,
        brokerRssIdle,
        brokerRssAtPeak,
      },
      mixed: {
        seconds: mixedSeconds,
        offeredPerSecond: s.mixedRate,
        achievedPerSecond: mixedOps.reduce((x, o) => x + o.count, 0) / mixedSeconds,
        heartbeat: mixedOps[0]!,
        grant: mixedOps[1]!,
        release: mixedOps[2]!,
        errors: mixedErrors,
        brokerCpuShare: mixedCpu,
      },
      throughput: {
        seconds: tpSeconds,
        connections: s.throughputConnections,
        pairsPerSecond: (tpGrant.count - tpGrant.errors) / tpSeconds,
        requestsPerSecond: (tpGrant.count - tpGrant.errors + tpRelease.count - tpRelease.errors) / tpSeconds,
        grant: tpGrant,
        release: tpRelease,
        errors: tpGrant.errors + tpRelease.errors,
        brokerCpuShare: tpCpu,
      },
      bulkRenewal: { ...recorder.summary('bulk-renewal'), idsPerRequest: Math.round(n / Object.keys(tokens.gatewayAgents).length) },
      baselines: baseline,
      reclaim: {
        leases,
        secondsAfterLastExpiry: zeroAt === null ? null : (zeroAt - (round.endedAt + ttlMs)) / 1000,
        secondsAfterFirstExpiry: zeroAt === null ? null : (zeroAt - (round.startedAt + ttlMs)) / 1000,
        leftAfterWait: left,
      },
    };
  } finally {
    await stop(broker);
  }
  if (s.profile) {
    try {
      figures.profile = hotSpots(profileDir, BUILD);
      log(`${store}: CPU profile in ${profileDir}`);
    } catch (e) {
      log(`${store}: no CPU profile (${(e as Error).message})`);
    }
  }
  return figures;
}

async function baselines(s: Settings, redis: { port: number; client: Redis }, ports: number[]): Promise<Baselines> {
  const out: Baselines = { bare: null, semaphore: null };
  const tsx = ['--import', 'tsx'];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };

  log(`baseline: bare Fastify route, ${s.throughputConnections} connections for ${s.throughputSeconds} s`);
  const bare = await startNode('bare fastify', [...tsx, join(ROOT, 'bench/servers/bare-fastify.ts')], { ...env, PORT: String(ports[0]) }, `http://127.0.0.1:${ports[0]}/`);
  try {
    const r = await ceiling({ url: `http://127.0.0.1:${ports[0]}/`, connections: s.throughputConnections, duration: s.throughputSeconds });
    out.bare = { requestsPerSecond: r.requestsPerSecond, p99: r.latency.p99, errors: r.errors };
  } finally {
    await stop(bare);
  }

  const prefill = s.held - s.throughputConnections;
  log(`baseline: redis-semaphore service (limit ${s.held}, ${prefill} held), acquire + release pairs`);
  const sem = await startNode(
    'semaphore service',
    [...tsx, join(ROOT, 'bench/servers/semaphore-service.ts')],
    { ...env, PORT: String(ports[1]), REDIS_PORT: String(redis.port), LIMIT: String(s.held), PREFILL: String(prefill) },
    `http://127.0.0.1:${ports[1]}/ready`,
    120_000,
  );
  try {
    const recorder = new OpRecorder();
    const t = new Tracked(recorder);
    const start = performance.now();
    await t.run({
      url: `http://127.0.0.1:${ports[1]}`,
      connections: s.throughputConnections,
      duration: s.throughputSeconds,
      requests: [
        t.request('acquire', { method: 'POST', path: '/leases' }, (status, body, ctx) => {
          if (status !== 201) return false;
          ctx.id = (JSON.parse(body) as { id: string }).id;
          return true;
        }),
        t.request('release', { method: 'DELETE', setupRequest: (req, ctx) => (ctx.id ? { ...req, path: `/leases/${ctx.id as string}` } : null) }, (status) => status === 204),
      ],
    });
    const seconds = (performance.now() - start) / 1000;
    const a = recorder.summary('acquire');
    const r = recorder.summary('release');
    out.semaphore = {
      pairsPerSecond: (a.count - a.errors) / seconds,
      requestsPerSecond: (a.count - a.errors + r.count - r.errors) / seconds,
      acquire: a,
      release: r,
      errors: a.errors + r.errors,
    };
  } finally {
    await stop(sem);
    await redis.client.del(SEMAPHORE_KEY); // the broker's keys stay: it is still holding its sessions
  }
  return out;
}

function redisVersion(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return (/v=([\d.]+)/.exec(r.stdout ?? '') ?? [])[1] ?? 'unknown';
}

async function main(): Promise<void> {
  const s = settingsFrom(process.argv.slice(2));
  const startedAt = new Date();
  mkdirSync(OUT, { recursive: true });
  const machine: BenchResult['machine'] = {
    cpus: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    redis: redisVersion(),
    // Other work on the machine competes for its cores: the figures are only as quiet as this.
    loadAverageBefore: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  log(`${machine.cores} × ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis}, load average ${machine.loadAverageBefore.join(' ')}`);
  if (!s.noBuild) {
    log(`compiling the broker${s.commit ? ` of ${s.commit}` : ''} into bench-results/build`);
    buildBroker(s.commit);
  }

  const secrets = { jwt: randomBytes(32).toString('base64url'), pseudonym: randomBytes(32).toString('base64url') };
  const config = loadAppConfig({ BROKER_CONFIG: CONFIG, BROKER_JWT_SECRET: secrets.jwt, BROKER_PSEUDONYM_KEY: secrets.pseudonym, BROKER_STATE_DIR: join(OUT, 'state') }, ROOT);
  log(`minting ${s.held} employee tokens (npm run loadtest:prepare does the same for k6)`);
  const tokens = await prepareTokens(config, { count: s.held, pool: POOL, ttlSeconds: 3 * 3600 });

  const redisPort = await freePort(REDIS_PORTS);
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let k = 0; k < 3; k++) {
    const p = await freePort(HTTP_PORTS, taken);
    taken.add(p);
    ports.push(p);
  }
  const redisServer = await startRedis(redisPort);
  const redis = { port: redisPort, client: redisServer.client };
  log(`own redis-server on 127.0.0.1:${redisPort}`);
  const brokers: BrokerFigures[] = [];
  const failures: { store: string; error: string }[] = [];
  try {
    for (const store of s.stores) {
      try {
        brokers.push(await benchBroker(store, s, tokens, secrets, redis, ports));
      } catch (e) {
        failures.push({ store, error: (e as Error).message });
        log(`${store}: FAILED — ${(e as Error).message}`);
      }
    }
  } finally {
    redis.client.disconnect();
    await stop(redisServer);
  }

  machine.loadAverageAfter = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const rev = spawnSync('git', ['rev-parse', '--short', s.commit ?? 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const revision = s.commit ? rev : `working tree on ${rev}`;
  const result: BenchResult = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), revision, machine, settings: s, brokers, failures };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const md = renderMarkdown(result, targetsOf(result));
  for (const name of [`bench-${stamp}`, 'latest']) {
    writeFileSync(join(OUT, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(OUT, `${name}.md`), md);
  }
  process.stdout.write('\n' + renderTable(result, targetsOf(result)) + '\n');
  log(`results: bench-results/bench-${stamp}.json and .md (also latest.json, latest.md)`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
