/** What the benchmark measures and records (bench-results/*.json). */
import type { LatencySummary } from './load';
import type { HotSpot } from './profile';
import type { StallSummary } from './stalls';

/** The runtimes of the broker and of the load generator during a phase (bench/phases/context.ts, runtimeMeter). */
export interface RuntimeFigures {
  /** Event-loop delay, ms, from the broker's /metrics; null when it could not be read. */
  brokerLoopDelayMs: { p99: number; max: number } | null;
  generatorLoopDelayMs: { p99: number; max: number };
  /** The broker's garbage collections during the phase by kind (minor, major, incremental, weakcb). */
  brokerGc: Record<string, { count: number; ms: number; over10ms: number }> | null;
}

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
  /** The keep-alive storm: seconds of logons (then as long again of renewals only), and its rates. */
  keepAliveStorm?: { logonSeconds: number; logonsPerSecond: number; renewEverySeconds: number; tailSeconds: number } | null;
  /** Worker counts measured over the Redis store (BROKER_WORKERS); none = not measured. */
  workers?: number[];
  /** Measure the safe mode (REDIS_ACK_REPLICAS) beside the fast one (bench/durability.bench.ts). */
  durability?: boolean;
  /** Node flags for the broker process (--node-args), e.g. a garbage collector setting. */
  brokerNodeArgs?: string[];
}

export interface BrokerFigures {
  store: 'redis' | 'memory';
  held: number;
  storm: { seconds: number; grantsPerSecond: number; created: number; errors: number; statuses: string; latency: LatencySummary; brokerCpuSeconds: number | null };
  countAtPeak: number | null;
  memory: {
    /** Redis memory per held session from MEMORY USAGE of its structures, the audit stream apart. */
    redisBytesPerHeldSession?: number | null;
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
    /** Requests the paced generator started more than 100 ms after they were due (it fell behind). */
    late: number;
    /** The gateways' bulk renewals during the phase (each member every 20 s, every session it carries). */
    bulkRenewal?: LatencySummary;
    /** Requests over 20 ms bunched in time, and which gateway reports were in flight then. */
    stalls?: StallSummary;
    runtime?: RuntimeFigures;
    /** The same mix for a few seconds before, not in the figures above: the broker's cold start of these paths. */
    warmUp?: { seconds: number; grant: LatencySummary; heartbeat: LatencySummary; stalls: StallSummary };
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
    /** Broker CPU per request in this phase (µs): CPU seconds over requests answered. */
    brokerCpuPerRequestUs?: number | null;
    /** Redis server CPU per request in this phase (µs), on the Redis store: Redis is one core for every replica. */
    redisCpuPerRequestUs?: number | null;
  };
  bulkRenewal: LatencySummary & { idsPerRequest: number };
  /**
   * The two baselines, measured right after this store's throughput phase while the broker sits idle
   * holding its sessions (the semaphore on the same Redis), so the ratios compare like with like
   * even when other work on the machine comes and goes.
   */
  baselines: Baselines;
  reclaim: { leases: number; secondsAfterLastExpiry: number | null; secondsAfterFirstExpiry: number | null; leftAfterWait: number | null };
  /** The logon storm as k6 shapes it: clients renewing every 40 s while logons arrive at a fixed rate. */
  keepAliveStorm?: KeepAliveStormFigures;
  profile?: { totalMs: number; spots: HotSpot[]; byArea: { area: string; share: number }[] };
}

export interface Baselines {
  /** cpuPerRequestUs: the server's CPU over its requests, as the broker's is taken (the floor the framework sets on this machine). */
  bare: { requestsPerSecond: number; p99: number; errors: number; cpuPerRequestUs?: number | null } | null;
  semaphore: { pairsPerSecond: number; requestsPerSecond: number; acquire: LatencySummary; release: LatencySummary; errors: number; cpuPerRequestUs?: number | null; redisCpuPerRequestUs?: number | null } | null;
}

export interface BenchResult {
  /** Throughput over the Redis store with BROKER_WORKERS = 1, 2, ... (same run, same Redis). */
  workers?: WorkerScaling[];
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


export interface KeepAliveStormFigures {
  logonsPerSecond: number;
  renewEverySeconds: number;
  seconds: number;
  heldAtStart: number;
  heldAtEnd: number;
  /** What the broker counted at the end, and what the clients believed they held. */
  brokerCountAtEnd: number | null;
  grant: LatencySummary;
  heartbeat: LatencySummary;
  /** Sessions whose renewal was refused (404/410): their lease had gone. */
  lost: number;
  logonErrors: number;
  heartbeatsPerSecond: number;
  achievedLogonsPerSecond: number;
  /** Requests that started more than 100 ms late (the generator fell behind). */
  late: number;
  brokerCpuShare: number | null;
  brokerCpuPerRequestUs: number | null;
  /** Event-loop delay during the phase, ms: the broker's (from its /metrics) and the load generator's own. */
  eventLoopDelayMs?: { broker: { p99: number; max: number } | null; generator: { p99: number; max: number } };
  /** Requests over 25 ms bunched in time. */
  stalls?: StallSummary;
  brokerGc?: RuntimeFigures['brokerGc'];
}

export interface WorkerScaling {
  workers: number;
  pairsPerSecond: number;
  requestsPerSecond: number;
  grant: LatencySummary;
  errors: number;
  /** CPU of all broker processes (primary and workers), share of one core. */
  brokerCpuShare: number | null;
  brokerCpuPerRequestUs: number | null;
}
