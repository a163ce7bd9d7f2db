/**
 * What the safe mode costs (docs/guarantees.md): grants and releases on the Redis store with writes
 * confirmed only once a replica has them (REDIS_ACK_REPLICAS=1, the default on Sentinel and Cluster)
 * beside the fast mode (0: confirmed once the master has them), on one master + one replica of its own.
 * Same process, same Redis, same run: the ratios compare like with like.
 *
 *   npm run bench:durability [-- --ops 20000 --concurrency 64]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisLeaseStore } from '../src/repositories/redis/redis-lease.store';
import { member, poolSpec, share } from '../test/support/pool-spec';
import { freePort, REDIS_PORTS, sleep, startRedis, stop } from './lib/processes';

export interface ModeFigures {
  mode: 'fast' | 'safe';
  ackReplicas: number;
  /** grant + release pairs per second at the given concurrency. */
  pairsPerSecond: number;
  grantP50Ms: number;
  grantP99Ms: number;
  /** Broker-process CPU per grant + release pair, µs. */
  cpuUsPerPair: number;
}

/** One pool with room for every worker's grant (the store tests' builder). */
const pool = (capacity: number) => poolSpec({ id: 'bench', members: [member('gw-01', capacity)], agencies: [share('a', 0, capacity)] });

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(port: number, prefix: string, ackReplicas: number, ops: number, concurrency: number): Promise<ModeFigures> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  const store = new RedisLeaseStore(client, { reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000, keyPrefix: prefix, ack: { replicas: ackReplicas, timeoutMs: 1_000 } });
  await store.keepPoolsWritten([pool(concurrency * 2)]);
  const latencies: number[] = [];
  let next = 0;
  const worker = async (w: number) => {
    for (let i = next++; i < ops; i = next++) {
      const t0 = performance.now();
      const r = await store.grant({ pool: 'bench', owner: `o${w}`, agency: 'a', clientId: 'c', newGrantId: `bench.${String(i).padStart(16, '0')}` });
      latencies.push(performance.now() - t0);
      if (!r.ok || r.value.outcome !== 'created') throw new Error(`unexpected answer ${JSON.stringify(r)}`);
      await store.release('bench', r.value.grant.id);
    }
  };
  // Warm-up (scripts loaded, connection up), then the measured run.
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  latencies.length = 0;
  next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  latencies.sort((a, b) => a - b);
  return {
    mode: ackReplicas > 0 ? 'safe' : 'fast',
    ackReplicas,
    pairsPerSecond: Math.round(ops / seconds),
    grantP50Ms: Math.round(quantile(latencies, 0.5) * 100) / 100,
    grantP99Ms: Math.round(quantile(latencies, 0.99) * 100) / 100,
    cpuUsPerPair: Math.round((cpu.user + cpu.system) / ops),
  };
}

/** Per figure, the median over the rounds of one mode. */
function median(runs: ModeFigures[]): ModeFigures {
  const mid = <K extends keyof ModeFigures>(k: K) => [...runs].sort((a, b) => Number(a[k]) - Number(b[k]))[Math.floor(runs.length / 2)]![k];
  return { mode: runs[0]!.mode, ackReplicas: runs[0]!.ackReplicas, pairsPerSecond: mid('pairsPerSecond'), grantP50Ms: mid('grantP50Ms'), grantP99Ms: mid('grantP99Ms'), cpuUsPerPair: mid('cpuUsPerPair') };
}

/** Runs both modes on a master + replica of its own; the caller prints the figures. */
export async function durabilityBench(ops = 20_000, concurrency = 64, rounds = 3): Promise<ModeFigures[]> {
  const taken = new Set<number>();
  const masterPort = await freePort(REDIS_PORTS, taken);
  taken.add(masterPort);
  const replicaPort = await freePort(REDIS_PORTS, taken);
  const master = await startRedis(masterPort);
  const replica = await startRedis(replicaPort);
  try {
    await replica.client.replicaof('127.0.0.1', String(masterPort));
    for (let i = 0; !(await replica.client.info('replication')).includes('master_link_status:up'); i++) {
      if (i > 100) throw new Error('the replica did not sync');
      await sleep(100);
    }
    // Alternating rounds, the median of each mode: a busy machine slows whichever runs at that moment.
    const fast: ModeFigures[] = [];
    const safe: ModeFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      fast.push(await measure(masterPort, `bd:fast${round}:`, 0, ops, concurrency));
      safe.push(await measure(masterPort, `bd:safe${round}:`, 1, ops, concurrency));
    }
    return [median(fast), median(safe)];
  } finally {
    await stop(replica);
    await stop(master);
  }
}

export function renderDurability([fast, safe]: ModeFigures[]): string {
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
  const rows = [fast!, safe!].map(
    (f) => `| ${f.mode} (REDIS_ACK_REPLICAS=${f.ackReplicas}) | ${f.pairsPerSecond} | ${f.grantP50Ms} | ${f.grantP99Ms} | ${f.cpuUsPerPair} |`,
  );
  return [
    '| mode | grant+release pairs/s | grant p50 ms | grant p99 ms | broker CPU µs per pair |',
    '|---|---|---|---|---|',
    ...rows,
    `| safe ÷ fast | ${ratio(safe!.pairsPerSecond, fast!.pairsPerSecond)} | ${ratio(safe!.grantP50Ms, fast!.grantP50Ms)} | ${ratio(safe!.grantP99Ms, fast!.grantP99Ms)} | ${ratio(safe!.cpuUsPerPair, fast!.cpuUsPerPair)} |`,
  ].join('\n');
}

if (require.main === module) {
  const { values } = parseArgs({ options: { ops: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' } } });
  durabilityBench(Number(values.ops), Number(values.concurrency), Number(values.rounds))
    .then((figures) => {
      process.stdout.write(`Durability: safe mode (WAIT for a replica) beside the fast mode, ${values.ops} pairs at concurrency ${values.concurrency}, median of ${values.rounds} alternating rounds\n\n`);
      process.stdout.write(renderDurability(figures) + '\n');
    })
    .catch((e: Error) => {
      process.stderr.write(`bench:durability failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    });
}
