/** The two baselines, measured beside each store's throughput phase: a bare Fastify route and a redis-semaphore service. */
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { ceiling, OpRecorder, Tracked } from '../lib/load';
import { startNode, stop } from '../lib/processes';
import type { Baselines, Settings } from '../lib/types';
import { cpuMeter, log } from './context';

const ROOT = resolve(__dirname, '..', '..');
/** The key bench/servers/semaphore-service.ts counts on. */
const SEMAPHORE_KEY = 'bench-semaphore-vpn';

export async function baselines(s: Settings, redis: { port: number; client: Redis; pid: number }, ports: number[]): Promise<Baselines> {
  const out: Baselines = { bare: null, semaphore: null };
  const tsx = ['--import', 'tsx'];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };

  log(`baseline: bare Fastify route, ${s.throughputConnections} connections for ${s.throughputSeconds} s`);
  const bare = await startNode('bare fastify', [...tsx, join(ROOT, 'bench/servers/bare-fastify.ts')], { ...env, PORT: String(ports[0]) }, `http://127.0.0.1:${ports[0]}/`);
  try {
    const cpu = cpuMeter(bare.child.pid!);
    const start = performance.now();
    const r = await ceiling({ url: `http://127.0.0.1:${ports[0]}/`, connections: s.throughputConnections, duration: s.throughputSeconds });
    const seconds = (performance.now() - start) / 1000;
    const used = cpu.stop(seconds, Math.round(r.requestsPerSecond * seconds));
    out.bare = { requestsPerSecond: r.requestsPerSecond, p99: r.latency.p99, errors: r.errors, cpuPerRequestUs: used.perRequestUs };
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
    const cpu = cpuMeter(sem.child.pid!);
    const redisCpu = cpuMeter(redis.pid);
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
    const used = cpu.stop(seconds, a.count + r.count);
    const redisUsed = redisCpu.stop(seconds, a.count + r.count);
    out.semaphore = {
      cpuPerRequestUs: used.perRequestUs,
      redisCpuPerRequestUs: redisUsed.perRequestUs,
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

