/**
 * npm run bench:layers — what each layer of a request costs in broker CPU, at one paced rate.
 *
 * The throughput phase of `npm run bench` says what an admission costs in all; this says where that
 * cost sits, by timing routes that stop at successive layers, each at the same paced rate (PacedLoad,
 * keep-alive connections) and measured from /proc like the other phases:
 *
 *   bare Fastify GET /            the framework alone (bench/servers/bare-fastify.ts), the baseline
 *   broker GET /health/live       + Nest's router, the broker's hooks (request log, headers), no token
 *   broker GET /v1/grants         + rate limit and token check (a cached token), a read of the store
 *   broker heartbeat              + a write to the store, events, metrics, the grant view
 *   broker grant + release        the admission pair the issue's 80 µs target is about
 *
 * Each row is a median over --rounds turns taken in turns with the baseline, so the other rows read
 * as multiples of the bare route measured in the same minutes.
 *
 *   npm run bench:layers                                  # both stores, 1,000 requests/s, 5 s turns
 *   npm run bench:layers -- --store redis --rate 2000 --rounds 5
 *   npm run bench:layers -- --config my.yaml             # another configuration (say, rate limits off)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../src/config/config.loader';
import { prepareTokens, type TokensFile } from '../load-tests/lib/prepare-tokens';
import { compileBroker } from './lib/build';
import { OpRecorder } from './lib/load';
import { dueCount, PacedLoad, type PacedRequest } from './lib/paced';
import { cpuSeconds, freePort, HTTP_PORTS, REDIS_PORTS, startNode, startRedis, stop, type Running } from './lib/processes';
import { median } from './lib/stats';
import { auth, grantBody, json, log, pairRequest, POOL } from './phases/context';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench-results', 'layers');
const BUILD = join(ROOT, 'bench-results', 'build');
const CONFIG = join(ROOT, 'bench', 'broker.bench.yaml');
/** Employees taking turns in the pairs and heartbeats: each stays far below its rate budget (50 per 10 s). */
const EMPLOYEES = 2_000;

type Layer = 'bare' | 'live' | 'read' | 'heartbeat' | 'pair';
const LAYERS: { layer: Layer; name: string }[] = [
  { layer: 'bare', name: 'bare Fastify GET /' },
  { layer: 'live', name: 'broker GET /health/live' },
  { layer: 'read', name: 'broker GET /v1/grants' },
  { layer: 'heartbeat', name: 'broker heartbeat' },
  { layer: 'pair', name: 'broker grant + release' },
];

interface Target {
  base: string;
  pid: number;
  tokens: TokensFile;
  /** Grant id each employee holds (heartbeats), by employee index. */
  held: string[];
}

/** The next request of a layer; `pair` sends its release from the grant's answer. */
function requestOf(layer: Layer, t: Target, i: number, load: PacedLoad, free: number[]): PacedRequest | null {
  const e = i % EMPLOYEES;
  const token = t.tokens.employees[e]!.token;
  switch (layer) {
    case 'bare':
      return { op: layer, method: 'GET', path: '/', headers: {} };
    case 'live':
      return { op: layer, method: 'GET', path: '/health/live', headers: {} };
    case 'read':
      return { op: layer, method: 'GET', path: '/v1/grants', headers: auth(token), done: (s) => s === 200 };
    case 'heartbeat':
      return { op: layer, method: 'POST', path: `/v1/grants/${t.held[e]}/heartbeat`, headers: auth(token), done: (s) => s === 200 };
    case 'pair': {
      const f = free.shift();
      if (f === undefined) return null;
      return pairRequest(load, t.tokens.employees[EMPLOYEES + f]!.token, () => free.push(f), layer);
    }
  }
}

async function turn(layer: Layer, t: Target, rate: number, seconds: number): Promise<{ cpuPerRequestUs: number; requests: number; errors: number; p99: number }> {
  const recorder = new OpRecorder();
  const load = new PacedLoad(new URL(t.base), recorder, 32);
  const free = Array.from({ length: EMPLOYEES }, (_, f) => f);
  // A pair is two requests: half the rate of pairs keeps the requests per second alike.
  const perSecond = layer === 'pair' ? rate / 2 : rate;
  let sent = 0;
  const cpu0 = cpuSeconds(t.pid)!;
  await load.run(seconds, (now, start) => {
    const due = dueCount(now, start, perSecond);
    for (; sent < due; sent++) {
      const r = requestOf(layer, t, sent, load, free);
      if (r) load.send(r, start + (sent / perSecond) * 1000);
    }
  });
  const cpu1 = cpuSeconds(t.pid)!;
  load.close();
  const ops = recorder.ops().map((op) => recorder.summary(op));
  const requests = ops.reduce((n, o) => n + o.count, 0);
  const errors = ops.reduce((n, o) => n + o.errors, 0);
  if (errors > 0) log(`  ${layer}: ${errors} errors (${recorder.ops().map((op) => `${op} ${recorder.statusText(op)}`).join(', ')})`);
  return { cpuPerRequestUs: ((cpu1 - cpu0) / requests) * 1e6, requests, errors, p99: recorder.summary(layer).p99 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string', default: '3' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '5' },
      store: { type: 'string', default: 'both' },
      'no-build': { type: 'boolean', default: false },
      config: { type: 'string', default: CONFIG },
    },
  });
  const rounds = Number(values.rounds);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const stores = values.store === 'both' ? (['memory', 'redis'] as const) : [values.store as 'memory' | 'redis'];
  mkdirSync(OUT, { recursive: true });
  const loadBefore = os.loadavg().map((x) => x.toFixed(2));
  if (!values['no-build']) {
    log('compiling the broker into bench-results/build');
    compileBroker(ROOT, null, BUILD, join(ROOT, 'bench-results', 'build-src'));
  }
  const secrets = { jwt: randomBytes(32).toString('base64url'), pseudonym: randomBytes(32).toString('base64url') };
  const configFile = resolve(values.config!);
  const config = loadAppConfig({ BROKER_CONFIG: configFile, BROKER_JWT_SECRET: secrets.jwt, BROKER_PSEUDONYM_KEY: secrets.pseudonym, BROKER_STATE_DIR: join(OUT, 'state') }, ROOT);
  const tokens = await prepareTokens(config, { count: 2 * EMPLOYEES, pool: POOL, ttlSeconds: 3 * 3600 });
  const barePort = await freePort(HTTP_PORTS);
  const port = await freePort(HTTP_PORTS, new Set([barePort]));
  const redisPort = await freePort(REDIS_PORTS);
  const redis = await startRedis(redisPort);
  const bare = await startNode('bare Fastify', ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'bare-fastify.ts')], { PATH: process.env.PATH, PORT: String(barePort) }, `http://127.0.0.1:${barePort}/`);
  const rows: { store: string; layer: Layer; name: string; cpuPerRequestUs: number; vsBare: number; p99: number; errors: number }[] = [];
  try {
    for (const store of stores) {
      let broker: Running | null = null;
      try {
        const base = `http://127.0.0.1:${port}`;
        broker = await startNode(
          `broker (${store})`,
          [join(BUILD, 'main.js')],
          {
            PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', BROKER_CONFIG: configFile, LOG_LEVEL: 'info',
            BROKER_JWT_SECRET: secrets.jwt, BROKER_PSEUDONYM_KEY: secrets.pseudonym, BROKER_STATE_DIR: join(OUT, 'state'),
            ...(store === 'redis' ? { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: 'layers:' } : {}),
          },
          `${base}/health/ready`,
        );
        // The first EMPLOYEES hold a session for the heartbeats; the next EMPLOYEES take turns in pairs.
        const held: string[] = [];
        for (let e = 0; e < EMPLOYEES; e++) {
          const res = await fetch(`${base}/v1/grants`, { method: 'POST', headers: json(tokens.employees[e]!.token), body: grantBody });
          if (res.status !== 201) throw new Error(`holding a session for employee ${e}: ${res.status} ${await res.text()}`);
          held.push(((await res.json()) as { id: string }).id);
        }
        const targets: Record<'bare' | 'broker', Target> = {
          bare: { base: `http://127.0.0.1:${barePort}`, pid: bare.child.pid!, tokens, held },
          broker: { base, pid: broker.child.pid!, tokens, held },
        };
        const at = (layer: Layer) => (layer === 'bare' ? targets.bare : targets.broker);
        for (const { layer } of LAYERS) await turn(layer, at(layer), rate, 1); // warm-up (JIT, connections)
        const turns = new Map<Layer, { cpu: number[]; p99: number[]; errors: number }>(LAYERS.map(({ layer }) => [layer, { cpu: [], p99: [], errors: 0 }]));
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? LAYERS : LAYERS.slice().reverse();
          for (const { layer } of order) {
            const t = await turn(layer, at(layer), rate, seconds);
            const acc = turns.get(layer)!;
            acc.cpu.push(t.cpuPerRequestUs);
            acc.p99.push(t.p99);
            acc.errors += t.errors;
          }
          log(`${store} round ${r + 1}/${rounds}: ${LAYERS.map(({ layer }) => `${layer} ${turns.get(layer)!.cpu[r]!.toFixed(0)} µs`).join(', ')}`);
        }
        const bareCpu = median(turns.get('bare')!.cpu);
        for (const { layer, name } of LAYERS) {
          const acc = turns.get(layer)!;
          const cpu = median(acc.cpu);
          rows.push({ store, layer, name, cpuPerRequestUs: cpu, vsBare: cpu / bareCpu, p99: median(acc.p99), errors: acc.errors });
        }
      } finally {
        if (broker) await stop(broker);
      }
    }
  } finally {
    await stop(bare);
    redis.client.disconnect(); // else it reconnects forever and the benchmark never exits
    await stop(redis);
  }
  const loadAfter = os.loadavg().map((x) => x.toFixed(2));
  const lines = [
    `CPU per request by layer, ${rate} requests/s paced over 32 keep-alive connections, ${rounds} × ${seconds} s turns, median`,
    `load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}; Node ${process.version}`,
    '',
    '| store | route | CPU per request | × bare Fastify | p99 ms | errors |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.store} | ${r.name} | ${r.cpuPerRequestUs.toFixed(0)} µs | ${r.vsBare.toFixed(1)} | ${r.p99.toFixed(2)} | ${r.errors} |`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const file = join(OUT, `layers-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  log(`written to ${file}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
