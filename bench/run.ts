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
 * - the logon storm as the k6 scenario shapes it: clients renewing every 40 s
 *   while 500 logons/s arrive (grant and heartbeat p99, sessions lost);
 * - the highest admission throughput (grant + release pairs) beside two
 *   baselines measured on the same machine: a bare Fastify route and a small
 *   Fastify service doing redis-semaphore acquire + release on the same Redis;
 * - Redis memory per active grant, the broker's memory at HELD, and the time
 *   to reclaim HELD leases once they stop being renewed;
 * - broker CPU per request (the issue's ≤ 80 µs), and throughput with
 *   BROKER_WORKERS = 1 and 2 over Redis.
 *
 * One file per phase in bench/phases/; this file builds, starts and orders them.
 *
 * Load comes from autocannon; every address is 127.0.0.1. It prints a table
 * and writes bench-results/bench-<time>.{json,md} (and latest.{json,md}).
 *
 *   npm run bench                          # full run, both stores, ~15 minutes
 *   npm run bench -- --quick               # 6,000 held, short phases: a smoke run
 *   npm run bench -- --store redis --profile   # also a CPU profile of the broker (node --cpu-prof)
 *   npm run bench -- --commit HEAD         # the committed broker, not the working tree
 *   npm run bench -- --node-args "--max-semi-space-size=32"   # Node flags for the broker process
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { loadAppConfig } from '../src/config/config.loader';
import { prepareTokens, type TokensFile } from '../load-tests/lib/prepare-tokens';
import { OpRecorder } from './lib/load';
import { freePort, HTTP_PORTS, REDIS_PORTS, rssBytes, sleep, startNode, startRedis, stop } from './lib/processes';
import { compileBroker } from './lib/build';
import { hotSpots } from './lib/profile';
import { renderMarkdown, renderTable, targetsOf } from './lib/report';
import type { Baselines, BenchResult, BrokerFigures, Settings } from './lib/types';
import { baselines } from './phases/baselines';
import { Held, log, POOL, poolActive, renewalRound, type PhaseContext } from './phases/context';
import { keepAliveStorm } from './phases/keep-alive-storm';
import { mixedLoad } from './phases/mixed';
import { reclaim } from './phases/reclaim';
import { logonStorm } from './phases/storm';
import { admissionThroughput } from './phases/throughput';
import { workerScaling } from './phases/workers';
import { durabilityBench, renderDurability } from './durability.bench';

export type { Baselines, BenchResult, BrokerFigures, KeepAliveStormFigures, Settings, WorkerScaling } from './lib/types';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench-results');
const BUILD = join(OUT, 'build');
const CONFIG = join(ROOT, 'bench', 'broker.bench.yaml');

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
      workers: { type: 'string' },
      'no-keep-alive-storm': { type: 'boolean', default: false },
      'no-durability': { type: 'boolean', default: false },
      'node-args': { type: 'string' },
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
    // k6's logon storm at its peak: 60,000 clients renewing every 40 s (1,500/s) while 500 logons/s
    // arrive; --quick scales the rates with the sessions held.
    keepAliveStorm: values['no-keep-alive-storm']
      ? null
      : { logonSeconds: quick ? 10 : 60, logonsPerSecond: Math.round((500 * held) / 60000), renewEverySeconds: 40, tailSeconds: quick ? 5 : 20 },
    workers: (values.workers ?? (store === 'memory' ? '' : '1,2')).split(',').filter(Boolean).map(Number),
    durability: store !== 'memory' && !values['no-durability'],
    brokerNodeArgs: (values['node-args'] ?? '').split(' ').filter(Boolean),
  };
}

function buildBroker(commit: string | null): void {
  compileBroker(ROOT, commit, BUILD, join(OUT, 'snapshot'));
}

async function redisUsedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

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

function brokerEnv(store: 'redis' | 'memory', port: number, secrets: { jwt: string; pseudonym: string }, redisPort: number): NodeJS.ProcessEnv {
  return {
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
    ...(store === 'redis' ? { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: 'bench:' } : {}),
  };
}

/** One store: start its broker, run the phases in order, stop it. */
async function benchBroker(
  store: 'redis' | 'memory',
  s: Settings,
  tokens: TokensFile,
  secrets: { jwt: string; pseudonym: string },
  redis: { port: number; client: Redis; pid: number },
  ports: number[],
): Promise<BrokerFigures> {
  const port = ports[2]!;
  const base = `http://127.0.0.1:${port}`;
  const env = brokerEnv(store, port, secrets, redis.port);
  const profileDir = join(OUT, 'profiles', store);
  // --cpu-prof writes its file at a normal exit only: the preload turns SIGTERM into one.
  const nodeArgs = [...(s.brokerNodeArgs ?? []), ...(s.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '-r', join(ROOT, 'bench', 'lib', 'exit-on-sigterm.js')] : [])];
  if (s.profile) rmSync(profileDir, { recursive: true, force: true });
  await redis.client.flushall(); // our own redis-server on a bench port, never the shared one
  const broker = await startNode(`broker (${store})`, [...nodeArgs, join(BUILD, 'main.js')], env, `${base}/health/ready`);
  const ctx: PhaseContext = { store, s, base, tokens, held: new Held(s.held), recorder: new OpRecorder(), pid: broker.child.pid!, redisPid: store === 'redis' ? redis.pid : null };
  let figures: BrokerFigures;
  try {
    await sleep(1000);
    const redisUsedBaseline = store === 'redis' ? await redisUsedMemory(redis.client) : null;
    const brokerRssIdle = rssBytes(ctx.pid);

    const storm = await logonStorm(ctx);
    const countAtPeak = await poolActive(base, tokens.operator);
    const redisUsedAtPeak = store === 'redis' ? await redisUsedMemory(redis.client) : null;
    const redisByKey = store === 'redis' ? await redisMemoryByKey(redis.client) : null;
    const brokerRssAtPeak = rssBytes(ctx.pid);
    log(`${store}: ${storm.created} grants in ${storm.seconds.toFixed(2)} s; broker counts ${countAtPeak}`);

    const { mixed, churnQueue } = await mixedLoad(ctx);
    const kas = s.keepAliveStorm ? await keepAliveStorm(ctx) : undefined;
    const throughput = await admissionThroughput(ctx, churnQueue);

    // The baselines, now, while the broker holds its sessions idle.
    let baseline: Baselines = { bare: null, semaphore: null };
    if (s.baselines) {
      await renewalRound(ctx);
      baseline = await baselines(s, redis, ports);
    }
    const reclaimed = await reclaim(ctx);
    const perSession = redisByKey?.filter((k) => /:(grants|exp:<…>|owners:<n>|started)$/.test(k.key)).reduce((x, k) => x + k.bytes, 0);
    figures = {
      store,
      held: s.held,
      storm,
      countAtPeak,
      memory: {
        redisBytesPerHeldSession: perSession === undefined ? null : perSession / storm.created,
        redisUsedBaseline,
        redisUsedAtPeak,
        redisBytesPerGrant: redisUsedBaseline !== null && redisUsedAtPeak !== null ? (redisUsedAtPeak - redisUsedBaseline) / storm.created : null,
        redisByKey,
        brokerRssIdle,
        brokerRssAtPeak,
      },
      mixed,
      throughput,
      bulkRenewal: { ...ctx.recorder.summary('bulk-renewal'), idsPerRequest: Math.round(s.held / Object.keys(tokens.gatewayAgents).length) },
      baselines: baseline,
      reclaim: reclaimed,
      ...(kas ? { keepAliveStorm: kas } : {}),
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
  const redis = { port: redisPort, client: redisServer.client, pid: redisServer.child.pid! };
  log(`own redis-server on 127.0.0.1:${redisPort}`);
  const brokers: BrokerFigures[] = [];
  const failures: { store: string; error: string }[] = [];
  let workers: BenchResult['workers'];
  try {
    for (const store of s.stores) {
      try {
        brokers.push(await benchBroker(store, s, tokens, secrets, redis, ports));
      } catch (e) {
        failures.push({ store, error: (e as Error).message });
        log(`${store}: FAILED — ${(e as Error).message}`);
      }
    }
    if (s.stores.includes('redis') && (s.workers ?? []).length > 0) {
      try {
        workers = await workerScaling(s, tokens, brokerEnv('redis', ports[2]!, secrets, redisPort), BUILD, redis, ports[2]!);
      } catch (e) {
        failures.push({ store: 'redis workers', error: (e as Error).message });
        log(`workers: FAILED — ${(e as Error).message}`);
      }
    }
  } finally {
    redis.client.disconnect();
    await stop(redisServer);
  }
  // The safe mode (writes confirmed by a replica, docs/guarantees.md) beside the fast one, on a master + replica of its own.
  let durability: string | null = null;
  if (s.durability) {
    try {
      durability = renderDurability(await durabilityBench(s.quick ? 5_000 : 20_000, 64, s.quick ? 1 : 3));
    } catch (e) {
      failures.push({ store: 'redis durability', error: (e as Error).message });
      log(`durability: FAILED — ${(e as Error).message}`);
    }
  }

  machine.loadAverageAfter = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const rev = spawnSync('git', ['rev-parse', '--short', s.commit ?? 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const revision = s.commit ? rev : `working tree on ${rev}`;
  const result: BenchResult = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), revision, machine, settings: s, brokers, failures, ...(workers ? { workers } : {}) };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const durabilitySection = durability ? `\n## Durability: the safe mode beside the fast one (store level, master + replica)\n\n${durability}\n` : '';
  const md = renderMarkdown(result, targetsOf(result)) + durabilitySection;
  for (const name of [`bench-${stamp}`, 'latest']) {
    writeFileSync(join(OUT, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(OUT, `${name}.md`), md);
  }
  process.stdout.write('\n' + renderTable(result, targetsOf(result)) + '\n' + durabilitySection);
  log(`results: bench-results/bench-${stamp}.json and .md (also latest.json, latest.md)`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
