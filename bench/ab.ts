/**
 * npm run bench:ab -- <base> [<other>] — broker CPU per request of two revisions, side by side.
 *
 * On a machine others share, CPU per request drifts with their load from one minute to the next, so
 * two benchmark runs minutes apart do not compare. This builds both revisions (<other>: the working
 * tree when absent), starts both brokers at once, and drives them in turns (A B B A A B …) with
 * the same paced load: grant + release pairs at --rate pairs/s for --seconds each turn, on the
 * embedded store and on Redis (its own redis-server, one key prefix each). Each turn's CPU comes
 * from /proc; the figure is the median over the turns, and the ratio the median of each round's.
 *
 *   npm run bench:ab -- b44dff5                 # the commit before issue 12 against the working tree
 *   npm run bench:ab -- b44dff5 HEAD --rounds 8 --rate 300 --seconds 4
 *   npm run bench:ab -- HEAD HEAD --b-node-args=--max-semi-space-size=32   # a Node flag, same code
 *   npm run bench:ab -- HEAD~3 --connections 32   # at full load (autocannon), as the throughput phase
 *   npm run bench:ab -- 06eca98 HEAD --deps --connections 32   # each side on its own node_modules (a dependency's upgrade)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../src/config/config.loader';
import { prepareTokens, type TokensFile } from '../load-tests/lib/prepare-tokens';
import { compileBroker } from './lib/build';
import { OpRecorder, Tracked, type LatencySummary } from './lib/load';
import { dueCount, PacedLoad } from './lib/paced';
import { median } from './lib/stats';
import { cpuSeconds, freePort, HTTP_PORTS, REDIS_PORTS, startNode, startRedis, stop, type Running } from './lib/processes';
import { autocannonPairs, log, pairRequest, POOL, ROTATION } from './phases/context';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench-results', 'ab');
const CONFIG = join(ROOT, 'bench', 'broker.bench.yaml');

interface Turn {
  cpuPerRequestUs: number;
  /** Redis's CPU per request during the turn (the Redis store; null on the embedded one). */
  redisCpuPerRequestUs: number | null;
  requests: number;
  requestsPerSecond: number;
  grant: LatencySummary;
}

/** CPU seconds of the broker and of Redis (when there is one) at a point in time. */
const cpuNow = (pid: number, redisPid: number | null) => ({ broker: cpuSeconds(pid)!, redis: redisPid === null ? null : cpuSeconds(redisPid)!, at: performance.now() });

function turnFigures(recorder: OpRecorder, before: ReturnType<typeof cpuNow>, after: ReturnType<typeof cpuNow>): Turn {
  const g = recorder.summary('grant');
  const r = recorder.summary('release');
  const requests = g.count + r.count;
  if (g.errors + r.errors > 0) log(`  ${g.errors + r.errors} errors: ${recorder.statusText('grant')} / ${recorder.statusText('release')}`);
  return {
    cpuPerRequestUs: ((after.broker - before.broker) / requests) * 1e6,
    redisCpuPerRequestUs: before.redis === null || after.redis === null ? null : ((after.redis - before.redis) / requests) * 1e6,
    requests,
    requestsPerSecond: (requests / (after.at - before.at)) * 1000,
    grant: g,
  };
}

/**
 * A turn at full load: grant + release pairs over `connections` keep-alive connections as fast as the
 * broker answers (autocannon, as the throughput phase of `npm run bench`), so CPU per request is
 * the figure issue 12's target is about.
 */
async function saturatedTurn(base: string, pid: number, redisPid: number | null, tokens: TokensFile, employees: number[], connections: number, seconds: number): Promise<Turn> {
  const recorder = new OpRecorder();
  const tp = new Tracked(recorder);
  const free = employees.slice();
  const before = cpuNow(pid, redisPid);
  await tp.run({
    url: base,
    connections,
    duration: seconds,
    requests: autocannonPairs(tp, tokens, free),
  });
  return turnFigures(recorder, before, cpuNow(pid, redisPid));
}

async function turn(base: string, pid: number, redisPid: number | null, tokens: TokensFile, employees: number[], rate: number, seconds: number): Promise<Turn> {
  const recorder = new OpRecorder();
  const load = new PacedLoad(new URL(base), recorder, 64);
  const free = employees.slice();
  let sent = 0;
  const before = cpuNow(pid, redisPid);
  await load.run(seconds, (now, start) => {
    const due = dueCount(now, start, rate);
    for (; sent < due && free.length > 0; sent++) {
      const e = free.shift()!;
      load.send(pairRequest(load, tokens.employees[e]!.token, () => free.push(e)), start + (sent / rate) * 1000);
    }
  });
  const after = cpuNow(pid, redisPid);
  load.close();
  return turnFigures(recorder, before, after);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '6' },
      rate: { type: 'string', default: '250' },
      seconds: { type: 'string', default: '4' },
      store: { type: 'string', default: 'both' },
      'log-level': { type: 'string', default: 'info' },
      // Full load instead of a paced rate: this many connections, as fast as the broker answers.
      connections: { type: 'string' },
      // Node's own flags for one side (space-separated), to compare a runtime setting on the same code.
      'a-node-args': { type: 'string', default: '' },
      'b-node-args': { type: 'string', default: '' },
      // Each commit on its own dependencies (npm ci --omit=dev into its snapshot), for a
      // change of a dependency's version; without it both run on the working tree's node_modules.
      deps: { type: 'boolean', default: false },
    },
  });
  if (positionals.length < 1) throw new Error('usage: npm run bench:ab -- <base> [<other>]');
  const [a, b] = [positionals[0]!, positionals[1] ?? null];
  const rounds = Number(values.rounds);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const connections = values.connections === undefined ? null : Number(values.connections);
  const stores = values.store === 'both' ? (['memory', 'redis'] as const) : [values.store as 'memory' | 'redis'];
  mkdirSync(OUT, { recursive: true });
  const loadBefore = os.loadavg().map((x) => x.toFixed(2));
  log(`building ${a} and ${b ?? 'the working tree'}`);
  compileBroker(ROOT, a, join(OUT, 'a'), join(OUT, 'a-src'), { ownDependencies: values.deps });
  compileBroker(ROOT, b, join(OUT, 'b'), join(OUT, 'b-src'), { ownDependencies: values.deps });

  const secrets = { jwt: randomBytes(32).toString('base64url'), pseudonym: randomBytes(32).toString('base64url') };
  const config = loadAppConfig({ BROKER_CONFIG: CONFIG, BROKER_JWT_SECRET: secrets.jwt, BROKER_PSEUDONYM_KEY: secrets.pseudonym, BROKER_STATE_DIR: join(OUT, 'state') }, ROOT);
  const pairsPerTurn = rate * seconds;
  // Each side its own employees; at full load (up to ~20,000 requests/s on the embedded store) ROTATION
  // each keep every one within its rate budget (50 requests per 10 s), as in the throughput phase: a
  // side that ran into it would be measured on cheap 429s.
  const perSide = connections === null ? 600 : ROTATION;
  const tokens = await prepareTokens(config, { count: 2 * perSide, pool: POOL, ttlSeconds: 3 * 3600 });
  const runTurn = (base: string, pid: number, redisPid: number | null, employees: number[], turnSeconds: number) =>
    connections === null ? turn(base, pid, redisPid, tokens, employees, rate, turnSeconds) : saturatedTurn(base, pid, redisPid, tokens, employees, connections, turnSeconds);

  const ports = [await freePort(HTTP_PORTS)];
  ports.push(await freePort(HTTP_PORTS, new Set(ports)));
  const redisPort = await freePort(REDIS_PORTS);
  const redis = await startRedis(redisPort);
  const results: Record<string, unknown>[] = [];
  try {
    for (const store of stores) {
      const brokers: Running[] = [];
      const bases: string[] = [];
      try {
        for (const [k, dir] of ['a', 'b'].entries()) {
          const port = ports[k]!;
          const base = `http://127.0.0.1:${port}`;
          const env: NodeJS.ProcessEnv = {
            PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', BROKER_CONFIG: CONFIG,
            LOG_LEVEL: values['log-level'], BROKER_JWT_SECRET: secrets.jwt, BROKER_PSEUDONYM_KEY: secrets.pseudonym, BROKER_STATE_DIR: join(OUT, 'state'),
            ...(store === 'redis' ? { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: `ab-${dir}:` } : {}),
          };
          const nodeArgs = (dir === 'a' ? values['a-node-args'] : values['b-node-args'])!.split(' ').filter(Boolean);
          brokers.push(await startNode(`broker ${dir} (${store})`, [...nodeArgs, join(OUT, dir, 'main.js')], env, `${base}/health/ready`));
          bases.push(base);
        }
        // Each broker its own employees, so neither sees the other's grants on the shared Redis.
        const employees = [Array.from({ length: perSide }, (_, e) => e), Array.from({ length: perSide }, (_, e) => perSide + e)];
        // A warm-up turn each (JIT, connections), not counted.
        const redisPid = store === 'redis' ? redis.child.pid! : null;
        for (const k of [0, 1]) await runTurn(bases[k]!, brokers[k]!.child.pid!, redisPid, employees[k]!, 2);
        const turns: [Turn[], Turn[]] = [[], []];
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? [0, 1] : [1, 0];
          for (const k of order) turns[k]!.push(await runTurn(bases[k]!, brokers[k]!.child.pid!, redisPid, employees[k]!, seconds));
          const show = (t: Turn) => `${t.cpuPerRequestUs.toFixed(0)} µs${t.redisCpuPerRequestUs === null ? '' : ` + Redis ${t.redisCpuPerRequestUs.toFixed(0)} µs`}, ${t.requestsPerSecond.toFixed(0)}/s`;
          log(`${store} round ${r + 1}/${rounds}: A ${show(turns[0][r]!)}, B ${show(turns[1][r]!)} per request`);
        }
        const ratio = median(turns[0].map((t, r) => turns[1][r]!.cpuPerRequestUs / t.cpuPerRequestUs));
        const side = (ts: Turn[]) => ({
          cpuPerRequestUs: median(ts.map((t) => t.cpuPerRequestUs)),
          redisCpuPerRequestUs: redisPid === null ? null : median(ts.map((t) => t.redisCpuPerRequestUs!)),
          requestsPerSecond: median(ts.map((t) => t.requestsPerSecond)),
          grantP99: median(ts.map((t) => t.grant.p99)),
          grantP50: median(ts.map((t) => t.grant.p50)),
        });
        const ratioOf = (f: (t: Turn) => number | null) => (redisPid === null && f(turns[0][0]!) === null ? null : median(turns[0].map((t, r) => f(turns[1][r]!)! / f(t)!)));
        results.push({
          store,
          a: side(turns[0]),
          b: side(turns[1]),
          ratio,
          redisRatio: ratioOf((t) => t.redisCpuPerRequestUs),
          throughputRatio: ratioOf((t) => t.requestsPerSecond),
          turns: turns.map((ts) => ts.map((t) => Math.round(t.cpuPerRequestUs))),
        });
      } finally {
        for (const br of brokers) await stop(br);
      }
    }
  } finally {
    redis.client.disconnect();
    await stop(redis);
  }
  const report = {
    at: new Date().toISOString(),
    a,
    b: b ?? 'working tree',
    settings: { rounds, ratePairsPerSecond: connections === null ? rate : null, connections, secondsPerTurn: seconds, logLevel: values['log-level'], pairsPerTurn, aNodeArgs: values['a-node-args'], bNodeArgs: values['b-node-args'], ownDependencies: values.deps },
    machine: { cores: os.cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg().map((x) => x.toFixed(2)) },
    results,
  };
  writeFileSync(join(OUT, `ab-${Date.now()}.json`), JSON.stringify(report, null, 2) + '\n');
  type Side = { cpuPerRequestUs: number; redisCpuPerRequestUs: number | null; requestsPerSecond: number; grantP50: number; grantP99: number };
  const show = (s: Side) =>
    `${s.cpuPerRequestUs.toFixed(0)} µs/request${s.redisCpuPerRequestUs === null ? '' : ` + Redis ${s.redisCpuPerRequestUs.toFixed(0)} µs`}, ${s.requestsPerSecond.toFixed(0)} requests/s (grant p50/p99 ${s.grantP50.toFixed(2)}/${s.grantP99.toFixed(2)} ms)`;
  for (const r of results as { store: string; a: Side; b: Side; ratio: number; redisRatio: number | null; throughputRatio: number | null }[]) {
    process.stdout.write(
      `${r.store.padEnd(7)} A ${a}: ${show(r.a)}\n        B ${b ?? 'working tree'}: ${show(r.b)}\n` +
        `        B/A broker CPU ${r.ratio.toFixed(2)}${r.redisRatio === null ? '' : `, Redis CPU ${r.redisRatio.toFixed(2)}`}${r.throughputRatio === null ? '' : `, requests/s ${r.throughputRatio.toFixed(2)}`} (medians of per-round ratios)\n`,
    );
  }
  process.stdout.write(`load average before ${loadBefore.join(' ')}, after ${report.machine.loadAverageAfter.join(' ')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:ab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
