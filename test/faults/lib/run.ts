import { startBrokers, type Broker } from './brokers';
import { checkHistory, countByKind, formatViolation, type Violation, type ViolationKind } from './checker';
import { clusterFaults, FAILOVERS, inject, sentinelFaults, UNPROTECTED, type FaultKind, type FaultRecord } from './faults';
import { confirmedGrant, History, problemCode, type Op } from './history';
import type { Persistence } from './processes';
import { sleep } from './processes';
import { Rng } from './random';
import { ClusterTopology, SentinelTopology, type Topology } from './topology';
import { faultLimits, Workload } from './workload';

/** Where one run puts its processes (the jest suites and the campaign use different ranges). */
export interface RunPorts {
  redis: number;
  sentinel: number;
  cluster: number;
  brokers: number;
}

export interface RunPlan {
  seed: number;
  topology: 'sentinel' | 'cluster';
  /** Sentinel: replicas of the master (a Cluster has one per master). */
  replicas: 1 | 2;
  persistence: Persistence;
  faults: FaultKind[];
  /** REDIS_ACK_REPLICAS for the brokers; absent: the broker's default. */
  ackReplicas?: number;
}

export interface FaultResult extends FaultRecord {
  /** 503 store-unavailable answers from the fault's start until 5 s after it ended. */
  unavailable: number;
  /** From the fault's start to the end of the first confirmed write asked for after it started. */
  recoverS: number | null;
  /** The longest time without a confirmed write, from the fault's start until 5 s after it ended. */
  longestGapS: number;
  /** Violations seen from this fault's start until the next fault's. */
  violations: Partial<Record<ViolationKind, number>>;
}

export interface RunResult {
  plan: RunPlan;
  requests: number;
  confirmedGrants: number;
  faults: FaultResult[];
  violations: Violation[];
  /** The violations the run fails on (all of them, except what an unprotected fault cannot keep). */
  failing: Violation[];
  byKind: Record<ViolationKind, number>;
  seconds: number;
  /** The whole history, for a closer look at a failing seed. */
  ops: Op[];
  /** The last lines each broker wrote to stderr (warnings and errors). */
  brokerLogs: string[];
}

export const DOWN_AFTER_MS = 1_500;

/** A random plan: 2–3 faults, at least one failover; the persistence decides which restart fault can occur. */
export function randomPlan(seed: number, topology: 'sentinel' | 'cluster'): RunPlan {
  const rng = new Rng(seed);
  if (topology === 'cluster') {
    const faults: FaultKind[] = [rng.pick(['cluster-failover', 'cluster-master-kill'] as const)];
    for (let i = rng.int(1, 2); i > 0; i--) faults.push(rng.pick(clusterFaults));
    return { seed, topology, replicas: 1, persistence: 'none', faults: shuffle(faults, rng) };
  }
  const persistence: Persistence = rng.chance(0.5) ? 'none' : 'aof-always';
  const replicas = rng.chance(0.5) ? 1 : 2;
  const allowed = sentinelFaults.filter((k) => (persistence === 'none' ? k !== 'master-restart-aof' : k !== 'master-restart-empty'));
  const faults: FaultKind[] = [rng.pick(['sentinel-failover', 'master-pause-long', 'master-partition', 'master-kill'] as const)];
  for (let i = rng.int(1, 2); i > 0; i--) faults.push(rng.pick(allowed));
  // A wipe last: what comes before it is judged in full.
  return { seed, topology, replicas, persistence, faults: shuffle(faults, rng).sort((a, b) => Number(UNPROTECTED.has(a)) - Number(UNPROTECTED.has(b))) };
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * One run: a fresh topology, three broker replicas, the workload, the planned faults one after
 * another (each once the topology has settled from the last), then the history check.
 */
export async function runPlan(plan: RunPlan, ports: RunPorts, opts: { brokerEnv?: Record<string, string>; log?: (s: string) => void } = {}): Promise<RunResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const rng = new Rng(plan.seed);
  const topology: Topology =
    plan.topology === 'sentinel'
      ? new SentinelTopology({ redis: ports.redis, sentinel: ports.sentinel }, { replicas: plan.replicas, persistence: plan.persistence, downAfterMs: DOWN_AFTER_MS, failoverTimeoutMs: 5_000 })
      : new ClusterTopology(ports.cluster, { persistence: plan.persistence, nodeTimeoutMs: 2_000 });
  let brokers: Broker[] = [];
  const history = new History();
  const records: FaultRecord[] = [];
  let brokerLogs: string[] = [];
  try {
    await topology.start();
    const ack: Record<string, string> = plan.ackReplicas !== undefined ? { REDIS_ACK_REPLICAS: String(plan.ackReplicas) } : {};
    brokers = await startBrokers(ports.brokers, 3, { ...topology.brokerEnv(), ...ack, ...opts.brokerEnv });
    const workload = new Workload({ ports: brokers.map((b) => b.port), employees: 24, doubleSessions: 4, rng: rng.fork(1), history });
    await workload.start();
    await sleep(3_000);
    const faultRng = rng.fork(2);
    for (const kind of plan.faults) {
      const r = await inject(kind, { topology, brokers, rng: faultRng, now: () => history.now(), downAfterMs: DOWN_AFTER_MS });
      log(`  ${(r.start / 1000).toFixed(1)}s ${kind}: ${r.detail}`);
      records.push(r);
      await topology.waitUntilSettled(60_000);
      await sleep(faultRng.int(3_000, 5_000));
    }
    await workload.stop();
  } finally {
    brokerLogs = brokers.map((b) => b.log());
    await Promise.all(brokers.map((b) => b.kill()));
    await topology.stop();
  }
  return { ...judge(plan, history.ops, records, (Date.now() - t0) / 1000), brokerLogs };
}

const isConfirmedWrite = (op: Op) => (op.kind === 'release' ? op.status === 204 : op.kind !== 'get' && confirmedGrant(op) !== null);

export function judge(plan: RunPlan, ops: Op[], records: FaultRecord[], seconds: number): Omit<RunResult, 'brokerLogs'> {
  const violations = checkHistory(ops, faultLimits());
  const writes = ops.filter(isConfirmedWrite).sort((a, b) => a.end - b.end);
  const faults = records.map((f, i): FaultResult => {
    const next = records[i + 1]?.start ?? Infinity;
    const mine = countByKind(violations.filter((v) => v.at >= f.start && v.at < next));
    const windowEnd = f.end + 5_000;
    const first = writes.find((w) => w.start >= f.start);
    let gap = 0;
    let last = f.start;
    for (const w of writes) {
      if (w.end < f.start) continue;
      if (w.end > windowEnd) break;
      gap = Math.max(gap, w.end - last);
      last = w.end;
    }
    gap = Math.max(gap, Math.min(windowEnd, writes.find((w) => w.end > windowEnd)?.end ?? windowEnd) - last);
    return {
      ...f,
      unavailable: ops.filter((o) => o.end >= f.start && o.end <= windowEnd && o.status === 503 && problemCode(o) === 'store-unavailable').length,
      recoverS: first ? (first.end - f.start) / 1000 : null,
      longestGapS: gap / 1000,
      violations: Object.fromEntries(Object.entries(mine).filter(([, n]) => n > 0)),
    };
  });
  // After a master restarted empty, grants and idempotency memos are gone by design; what must
  // still hold from then on: fencing tokens, no 5xx but store-unavailable, no unknown-pool once
  // writes are confirmed again. Everything before it is judged in full.
  const wipe = records.find((f) => UNPROTECTED.has(f.kind));
  const recovered = wipe ? (writes.find((w) => w.start >= wipe.end && w.kind === 'grant' && w.status === 201)?.end ?? Infinity) : Infinity;
  const failing = wipe
    ? violations.filter((v) => v.at < wipe.start || v.kind.startsWith('fence-') || v.kind === 'server-error' || (v.kind === 'unknown-pool' && v.at > recovered))
    : violations;
  return {
    plan,
    requests: ops.length,
    confirmedGrants: new Set(ops.map((o) => (o.kind === 'grant' ? confirmedGrant(o)?.id : undefined)).filter(Boolean)).size,
    faults,
    violations,
    failing,
    byKind: countByKind(violations),
    seconds,
    ops,
  };
}

/** What a failing run prints: the seed, the plan and each violation with its excerpt. */
export function describeFailures(r: RunResult, limit = 5): string {
  const head = `seed ${r.plan.seed} (${r.plan.topology}, ${r.plan.replicas} replica(s), ${r.plan.persistence}, faults ${r.plan.faults.join(', ')}): ${r.failing.length} violations`;
  return [head, ...describeFaults(r), ...r.failing.slice(0, limit).map(formatViolation), r.failing.length > limit ? `… and ${r.failing.length - limit} more` : ''].filter(Boolean).join('\n');
}

/** One line per fault: when, what was done, the violations seen until the next fault. */
export function describeFaults(r: RunResult): string[] {
  return r.faults.map(
    (f) =>
      `  ${(f.start / 1000).toFixed(1)}–${(f.end / 1000).toFixed(1)}s ${f.kind}: ${f.detail}; ${f.unavailable} × 503 store-unavailable; ` +
      `first confirmed write asked for after its start ${f.recoverS === null ? 'none' : `${f.recoverS.toFixed(1)} s`} after it; ` +
      `violations until the next fault: ${Object.entries(f.violations).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
  );
}

export { FAILOVERS };
