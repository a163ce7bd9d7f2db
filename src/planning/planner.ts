import { SLOTS_PER_DAY } from './arrival-profile';
import { demandTrace, peakOf, TRACE_POINTS, TRACE_STEP_SECONDS } from './demand-trace';
import { drawSessionDay, poolDemands, type SessionDay } from './demand';
import { erlangB, erlangBServers } from './erlang-b';
import { simulateLossDay, toTicks, type LossDay, type RetryPolicy, type TickedDay } from './loss-simulation';
import { deriveKey, meanMinutes, RandomStream } from './random';
import { listedCandidates, type PlanPool, type Scenario } from './scenario.schema';
import { quantile, sumRange } from './stats';

export type Variant = 'today' | 'growth';
const VARIANT_INDEX: Record<Variant, number> = { today: 0, growth: 1 };

/** What the simulation says about one capacity of one pool, over all replications. */
export interface CapacityOutcome {
  capacity: number;
  /** Refused share of requests in the target window, pooled over all replications (the criterion). */
  refusedShare: number;
  /** 2.5 % and 97.5 % quantiles of the per-day refused share in the target window. */
  refusedShareBand: [number, number];
  refusedShareDay: number;
  refusedShareBusyHour: number;
  /** Employees who gave up after a refusal, per first request, whole day. */
  gaveUpShare: number;
  /** Simulated days whose refused share in the target window met the target. */
  daysMeetingTarget: number;
  /** The highest per-day refused share in the target window (the worst simulated day). */
  worstDay: number;
  /** Erlang B at this capacity for the busy hour's offered load. */
  erlangB: number;
  /** Mean per day, per 15-minute slot. */
  attemptsPerSlot: number[];
  refusedPerSlot: number[];
  /** Whole-day totals of each simulated day, in replication order. */
  dayTotals: { attempts: number[]; refused: number[]; gaveUp: number[] };
}

export interface VariantResult {
  variant: Variant;
  /** 1 today, the scenario's growth factor otherwise. */
  growth: number;
  /** Expected first requests per day (from the scenario). */
  expectedRequestsPerDay: number;
  /** Simulated first requests per day, per replication. */
  requestsPerDay: number[];
  /** Offered load (everyone admitted) per minute: median and 95 % band over the replications. */
  concurrency: { stepSeconds: number; median: number[]; low: number[]; high: number[] };
  /** Daily peak of the offered load (per-minute samples), one per replication. */
  peaks: number[];
  peak: { min: number; median: number; p95: number; max: number };
  /** The hour (four slots) with the highest mean offered load, and that load in erlangs. */
  busyHour: { startSlot: number; erlangs: number };
  /** Outcomes for the capacities shown, ascending. */
  candidates: CapacityOutcome[];
  /** The capacity in service today under this variant's demand. */
  current: CapacityOutcome;
  recommendation: {
    /** Smallest capacity (searched to `resolution`) whose refused share meets the target (on enough days, with target.daysShare). */
    capacity: number;
    /** Members (gateways, session hosts) of the pool's unitSize needed for it, if unitSize is given. */
    members: number | null;
    resolution: number;
    outcome: CapacityOutcome;
    /** Erlang B's answer for the busy hour, beside it. */
    erlangBCapacity: number;
    /** Capacities tried to find it. */
    probes: number;
  };
  /** Loss simulations run (capacity × day) for this variant, all capacities. */
  simulations: number;
}

export interface PoolPlan {
  pool: PlanPool;
  today: VariantResult;
  growth: VariantResult | null;
}

export interface PlanResult {
  scenario: Scenario;
  seed: number;
  replications: number;
  target: Scenario['target'];
  pools: PoolPlan[];
}

export interface PlanOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's replications. */
  replications?: number;
  /** Called with a short line as each pool and variant finishes. */
  progress?: (line: string) => void;
}

/** Keys of the random streams of one simulated day: demand, and retry decisions. */
export function dayKeys(seed: number, variant: Variant, poolIndex: number, replication: number): { demand: number; retry: number } {
  return {
    demand: deriveKey(seed, VARIANT_INDEX[variant], poolIndex, replication, 1),
    retry: deriveKey(seed, VARIANT_INDEX[variant], poolIndex, replication, 2),
  };
}

export function retryPolicyOf(s: Scenario): RetryPolicy | null {
  return s.retry.probability > 0 && s.retry.maxRetries > 0 ? { probability: s.retry.probability, maxRetries: s.retry.maxRetries, delay: s.retry.delay } : null;
}

/**
 * The volume factor of simulated day `replication`: log-normal with mean 1 and coefficient of
 * variation `dayToDayVariation`, shared by all pools and by both variants (a busy day is busy
 * everywhere, and the growth variant sees the same days with more teleworkers).
 */
export function dayVolumeFactor(s: Scenario, seed: number, replication: number): number {
  const cv = s.arrivals.dayToDayVariation;
  if (cv === 0) return 1;
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const z = new RandomStream(deriveKey(seed, 0xda7, replication)).normal();
  return Math.exp(sigma * z - (sigma * sigma) / 2);
}

/** Draws the simulated day `replication` of one pool and variant (the replay export uses it too). */
export function drawDay(s: Scenario, seed: number, variant: Variant, poolIndex: number, replication: number): SessionDay {
  const growth = variant === 'growth' ? s.growthFactor : 1;
  const demand = poolDemands(s, growth)[poolIndex]!;
  const factor = dayVolumeFactor(s, seed, replication);
  return drawSessionDay(
    demand.perSlot.map((x) => x * factor),
    s.pools[poolIndex]!.sessionDuration,
    dayKeys(seed, variant, poolIndex, replication).demand,
  );
}

/** Runs the whole plan: every pool, today and (if the scenario has a growth factor) with growth. */
export function runPlan(s: Scenario, options: PlanOptions = {}): PlanResult {
  const seed = options.seed ?? s.seed;
  const replications = options.replications ?? s.replications;
  const variants: Variant[] = s.growthFactor !== 1 ? ['today', 'growth'] : ['today'];
  const pools = s.pools.map((pool, poolIndex) => {
    const results = variants.map((variant) => {
      const r = simulateVariant(s, seed, replications, variant, poolIndex);
      options.progress?.(
        `${pool.id} ${variant === 'today' ? 'today' : `×${s.growthFactor}`}: busy-hour load ${r.busyHour.erlangs.toFixed(0)} erlangs, ` +
          `recommended ${r.recommendation.capacity} (Erlang B ${r.recommendation.erlangBCapacity}), ${r.recommendation.probes} capacities simulated`,
      );
      return r;
    });
    return { pool, today: results[0]!, growth: results[1] ?? null };
  });
  return { scenario: s, seed, replications, target: s.target, pools };
}

function simulateVariant(s: Scenario, seed: number, replications: number, variant: Variant, poolIndex: number): VariantResult {
  const pool = s.pools[poolIndex]!;
  const growth = variant === 'growth' ? s.growthFactor : 1;
  const demand = poolDemands(s, growth)[poolIndex]!;
  const policy = retryPolicyOf(s);

  // Phase 1: draw the days and their offered load.
  const days: TickedDay[] = [];
  const retryKeys: number[] = [];
  const traces: Int32Array[] = [];
  const meanDuration = meanMinutes(pool.sessionDuration) * 60;
  for (let r = 0; r < replications; r++) {
    const keys = dayKeys(seed, variant, poolIndex, r);
    const day = drawDay(s, seed, variant, poolIndex, r);
    days.push(toTicks(day, meanDuration));
    retryKeys.push(keys.retry);
    traces.push(demandTrace(day));
  }
  const concurrency = bandOverReplications(traces);
  const peaks = traces.map(peakOf);
  const busyHour = findBusyHour(traces);

  // Phase 2: loss simulations, one per capacity probed, all replications each; cached.
  const { window, refusedShare: target } = s.target;
  const [wFrom, wTo] = window === 'busy-hour' ? [busyHour.startSlot, busyHour.startSlot + 4] : [0, SLOTS_PER_DAY];
  const bhFrom = busyHour.startSlot;
  // With unlimited capacity nobody is refused; a day whose peak fits in a capacity is the same day
  // at that capacity, so only capacities below a day's peak need simulating.
  const unlimited = days.map((day, r) => simulateLossDay(day, Number.MAX_SAFE_INTEGER, policy, retryKeys[r]!));
  const cache = new Map<number, CapacityOutcome>();
  let simulated = 0;
  const evaluate = (capacity: number): CapacityOutcome => {
    const hit = cache.get(capacity);
    if (hit) return hit;
    const loss: LossDay[] = days.map((day, r) => {
      if (capacity >= unlimited[r]!.maxBusy) return unlimited[r]!;
      simulated++;
      return simulateLossDay(day, capacity, policy, retryKeys[r]!);
    });
    const share = (d: LossDay, from: number, to: number) => {
      const a = sumRange(d.attempts, from, to);
      return a === 0 ? 0 : sumRange(d.refused, from, to) / a;
    };
    const pooled = (from: number, to: number) => {
      let a = 0;
      let f = 0;
      for (const d of loss) {
        a += sumRange(d.attempts, from, to);
        f += sumRange(d.refused, from, to);
      }
      return a === 0 ? 0 : f / a;
    };
    const perDay = loss.map((d) => share(d, wFrom, wTo));
    const firstRequests = days.reduce((sum, d) => sum + d.count, 0);
    const outcome: CapacityOutcome = {
      capacity,
      refusedShare: pooled(wFrom, wTo),
      refusedShareBand: [quantile(perDay, 0.025), quantile(perDay, 0.975)],
      refusedShareDay: pooled(0, SLOTS_PER_DAY),
      refusedShareBusyHour: pooled(bhFrom, bhFrom + 4),
      gaveUpShare: firstRequests === 0 ? 0 : loss.reduce((sum, d) => sum + sumRange(d.gaveUp), 0) / firstRequests,
      daysMeetingTarget: perDay.filter((x) => x <= target).length,
      worstDay: Math.max(0, ...perDay),
      erlangB: erlangB(capacity, busyHour.erlangs),
      attemptsPerSlot: Array.from({ length: SLOTS_PER_DAY }, (_, k) => loss.reduce((sum, d) => sum + d.attempts[k]!, 0) / replications),
      refusedPerSlot: Array.from({ length: SLOTS_PER_DAY }, (_, k) => loss.reduce((sum, d) => sum + d.refused[k]!, 0) / replications),
      dayTotals: { attempts: loss.map((d) => sumRange(d.attempts)), refused: loss.map((d) => sumRange(d.refused)), gaveUp: loss.map((d) => sumRange(d.gaveUp)) },
    };
    cache.set(capacity, outcome);
    return outcome;
  };

  const erlangBCapacity = erlangBServers(busyHour.erlangs, target);
  const resolution = pool.resolution ?? niceStep(Math.max(erlangBCapacity, 1) / 500);
  const daysNeeded = s.target.daysShare === undefined ? 0 : Math.ceil(s.target.daysShare * replications);
  const recommended = smallestMeetingTarget(evaluate, target, Math.max(resolution, roundTo(erlangBCapacity, resolution)), resolution, daysNeeded);
  const probes = cache.size;

  const shown = new Set<number>([pool.capacity, recommended]);
  const listed = listedCandidates(pool);
  if (listed.length > 0) {
    for (const c of listed) shown.add(Math.max(1, variant === 'growth' ? roundTo(c * growth, resolution) : c));
  } else {
    for (let k = -6; k <= 6; k++) shown.add(Math.max(resolution, roundTo(recommended * (1 + k * 0.025), resolution)));
  }
  const candidates = [...shown].sort((a, b) => a - b).map(evaluate);

  return {
    variant,
    growth,
    expectedRequestsPerDay: demand.perDay,
    requestsPerDay: days.map((d) => d.count),
    concurrency,
    peaks,
    peak: { min: Math.min(...peaks), median: quantile(peaks, 0.5), p95: quantile(peaks, 0.95), max: Math.max(...peaks) },
    busyHour,
    candidates,
    current: evaluate(pool.capacity),
    recommendation: {
      capacity: recommended,
      members: pool.unitSize ? Math.ceil(recommended / pool.unitSize) : null,
      resolution,
      outcome: evaluate(recommended),
      erlangBCapacity,
      probes,
    },
    simulations: simulated,
  };
}

/**
 * The smallest capacity, to `resolution`, whose refused share meets the target (and, with
 * `daysNeeded`, does so on at least that many simulated days): bracket from the
 * Erlang-B guess with growing steps, then bisect. Assumes the share falls as capacity grows, which
 * holds for a loss system fed the same requests (common random numbers across capacities).
 */
export function smallestMeetingTarget(
  evaluate: (c: number) => { refusedShare: number; daysMeetingTarget?: number },
  target: number,
  guess: number,
  resolution: number,
  daysNeeded = 0,
): number {
  const meets = (c: number) => {
    const o = evaluate(c);
    return o.refusedShare <= target && (o.daysMeetingTarget ?? 0) >= daysNeeded;
  };
  let lo: number; // fails (0 always fails: nothing is admitted)
  let hi: number; // meets
  let step = Math.max(resolution, roundTo(guess * 0.02, resolution));
  if (meets(guess)) {
    hi = guess;
    lo = guess - step;
    while (lo > 0 && meets(lo)) {
      hi = lo;
      step *= 2;
      lo = hi - step;
    }
    lo = Math.max(0, lo);
  } else {
    lo = guess;
    hi = guess + step;
    while (!meets(hi)) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
  }
  while (hi - lo > resolution) {
    const mid = lo + Math.max(1, Math.floor((hi - lo) / 2 / resolution)) * resolution;
    if (mid >= hi) break;
    if (meets(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Median and 95 % band of the per-minute offered load over replications. */
function bandOverReplications(traces: Int32Array[]): VariantResult['concurrency'] {
  const median: number[] = [];
  const low: number[] = [];
  const high: number[] = [];
  const column = new Float64Array(traces.length);
  for (let g = 0; g < TRACE_POINTS; g++) {
    for (let r = 0; r < traces.length; r++) column[r] = traces[r]![g]!;
    median.push(quantile(column, 0.5));
    low.push(quantile(column, 0.025));
    high.push(quantile(column, 0.975));
  }
  return { stepSeconds: TRACE_STEP_SECONDS, median, low, high };
}

/** The clock hour starting on a quarter hour with the highest mean offered load over all replications. */
export function findBusyHour(traces: Int32Array[]): { startSlot: number; erlangs: number } {
  const perSlotMinutes = TRACE_POINTS / SLOTS_PER_DAY;
  const slotMean = new Float64Array(SLOTS_PER_DAY);
  for (const t of traces) for (let g = 0; g < TRACE_POINTS; g++) slotMean[Math.floor(g / perSlotMinutes)]! += t[g]!;
  for (let k = 0; k < SLOTS_PER_DAY; k++) slotMean[k]! /= traces.length * perSlotMinutes;
  let best = 0;
  let bestLoad = -1;
  for (let k = 0; k + 4 <= SLOTS_PER_DAY; k++) {
    const load = (slotMean[k]! + slotMean[k + 1]! + slotMean[k + 2]! + slotMean[k + 3]!) / 4;
    if (load > bestLoad) {
      bestLoad = load;
      best = k;
    }
  }
  return { startSlot: best, erlangs: bestLoad };
}

export function roundTo(x: number, step: number): number {
  return Math.round(x / step) * step;
}

/** 1, 2 or 5 times a power of ten, at most x (and at least 1). */
export function niceStep(x: number): number {
  if (x < 1) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return x >= 5 * p ? 5 * p : x >= 2 * p ? 2 * p : p;
}

/** Mean session duration in hours for a pool (for the report). */
export function meanSessionHours(pool: PlanPool): number {
  return meanMinutes(pool.sessionDuration) / 60;
}
