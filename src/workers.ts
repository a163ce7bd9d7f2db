import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type metric = MetricObjectWithValues<MetricValue<string>>;

/**
 * BROKER_WORKERS=N: N broker processes on one port over the Redis store (node:cluster; the primary
 * accepts connections and hands them to the workers round-robin). Each worker is a replica like
 * any other; the primary only forks, restarts a worker that dies, stops them on SIGTERM, and
 * answers a scrape of /metrics with the sum of every worker's registry, so one scrape target
 * still reads as one broker.
 */

type ToPrimary = { type: 'broker:metrics-request'; id: string } | { type: 'broker:metrics-json'; id: string; metrics: metric[] };
type ToWorker = { type: 'broker:metrics-collect'; id: string } | { type: 'broker:metrics-text'; id: string; text: string; contentType: string };

const RESTART_DELAY_MS = 1000;
const COLLECT_TIMEOUT_MS = 5000;

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** The primary: forks `n` workers of this same entry point and keeps them running until SIGTERM/SIGINT. */
export function runPrimary(n: number, log: (msg: string) => void): void {
  let stopping = false;
  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < n; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log(`worker ${w.process.pid} exited (${signal ?? code}); starting another in ${RESTART_DELAY_MS} ms`);
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping ${n} workers`);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // A worker asked for the whole broker's metrics: collect every worker's registry and sum them.
  const pending = new Map<string, { metrics: metric[][]; left: number; requester: Worker; timer: NodeJS.Timeout }>();
  const answer = (id: string) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    const registry = AggregatorRegistry.aggregate(p.metrics);
    void registry.metrics().then((text) => {
      if (p.requester.isConnected()) p.requester.send({ type: 'broker:metrics-text', id, text, contentType: registry.contentType } satisfies ToWorker);
    });
  };
  cluster.on('message', (worker, msg: ToPrimary) => {
    if (msg?.type === 'broker:metrics-request') {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
      pending.set(msg.id, { metrics: [], left: workers.length, requester: worker, timer: setTimeout(() => answer(msg.id), COLLECT_TIMEOUT_MS) });
      for (const w of workers) w.send({ type: 'broker:metrics-collect', id: msg.id } satisfies ToWorker);
    } else if (msg?.type === 'broker:metrics-json') {
      const p = pending.get(msg.id);
      if (!p) return;
      p.metrics.push(msg.metrics);
      if (--p.left === 0) answer(msg.id);
    }
  });
}

/** In a worker: a primary that went away (killed) takes its workers with it, gracefully. */
export function followPrimary(): void {
  if (cluster.isWorker) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * In a worker: answers the primary's collection with this worker's registry, and returns the
 * function that asks the primary for the whole broker's metrics.
 */
export type WorkerMetric = metric;

export function workerMetrics(own: () => Promise<metric[]>): () => Promise<{ text: string; contentType: string }> {
  const waiting = new Map<string, (r: { text: string; contentType: string }) => void>();
  process.on('message', (msg: ToWorker) => {
    if (msg?.type === 'broker:metrics-collect') {
      void own().then((metrics) => process.send?.({ type: 'broker:metrics-json', id: msg.id, metrics } satisfies ToPrimary));
    } else if (msg?.type === 'broker:metrics-text') {
      waiting.get(msg.id)?.({ text: msg.text, contentType: msg.contentType });
      waiting.delete(msg.id);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = randomUUID();
      waiting.set(id, resolve);
      process.send?.({ type: 'broker:metrics-request', id } satisfies ToPrimary);
    });
}
