/**
 * BROKER_WORKERS = 1, 2, …: the same admission throughput phase (grant + release pairs, unthrottled)
 * against a broker of N worker processes on one port over the Redis store, each started afresh on
 * the same Redis. CPU is that of the primary and all its workers.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { TokensFile } from '../../load-tests/lib/prepare-tokens';
import { OpRecorder, Tracked } from '../lib/load';
import { sleep, startNode, stop, treeCpuSeconds } from '../lib/processes';
import type { Settings, WorkerScaling } from '../lib/types';
import { autocannonPairs, log, ROTATION } from './context';

export async function workerScaling(
  s: Settings,
  tokens: TokensFile,
  env: NodeJS.ProcessEnv,
  build: string,
  redis: { client: Redis },
  port: number,
): Promise<WorkerScaling[]> {
  const out: WorkerScaling[] = [];
  for (const workers of s.workers ?? []) {
    await redis.client.flushall(); // our own redis-server on a bench port, never the shared one
    const base = `http://127.0.0.1:${port}`;
    const broker = await startNode(`broker (${workers} workers)`, [join(build, 'main.js')], { ...env, PORT: String(port), BROKER_WORKERS: String(workers) }, `${base}/health/ready`);
    try {
      // Every worker must be serving, not only the first one ready.
      await sleep(2000 + 1000 * workers);
      log(`redis, ${workers} worker(s): grant + release pairs over ${s.throughputConnections} connections for ${s.throughputSeconds} s`);
      const recorder = new OpRecorder();
      const tp = new Tracked(recorder);
      const free = Array.from({ length: Math.max(s.throughputConnections * 2, Math.min(ROTATION, tokens.employees.length)) }, (_, e) => e);
      const cpu0 = treeCpuSeconds(broker.child.pid!);
      const start = performance.now();
      await tp.run({
        url: base,
        connections: s.throughputConnections,
        duration: s.throughputSeconds,
        requests: autocannonPairs(tp, tokens, free),
      });
      const seconds = (performance.now() - start) / 1000;
      const cpu1 = treeCpuSeconds(broker.child.pid!);
      const g = recorder.summary('grant');
      const r = recorder.summary('release');
      const requests = g.count + r.count;
      if (g.errors + r.errors > 0) log(`redis, ${workers} worker(s): answers other than 201/204 — grant ${recorder.statusText('grant')}, release ${recorder.statusText('release')}`);
      out.push({
        workers,
        pairsPerSecond: (g.count - g.errors) / seconds,
        requestsPerSecond: (g.count - g.errors + r.count - r.errors) / seconds,
        grant: g,
        errors: g.errors + r.errors,
        brokerCpuShare: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / seconds,
        brokerCpuPerRequestUs: cpu0 === null || cpu1 === null || requests === 0 ? null : ((cpu1 - cpu0) / requests) * 1e6,
      });
    } finally {
      await stop(broker);
    }
  }
  return out;
}
