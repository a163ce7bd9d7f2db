import { DAY_SECONDS } from '../arrival-profile';
import { retryDelaySeconds, simulateLossDay, toTicks } from '../loss-simulation';
import { dayKeys, drawDay, retryPolicyOf, type PlanResult, type Variant } from '../planner';
import { meanMinutes } from '../random';
import { quantile, sumRange } from '../stats';

/** The file load-tests/replay-plan.js reads (load-tests/lib/replay/schedule.js checks the same name). */
export const REPLAY_FORMAT = 'telework-broker-replay-schedule/1';

/** One session request: [arrival tick, hold ticks, pool index, employee index, retry delays in ticks]. */
export type ScheduledSession = [at: number, hold: number, pool: number, employee: number, retries: number[]];

export interface ScheduledPool {
  id: string;
  capacity: number;
  /** Seconds of the simulated day per tick of this pool's times. */
  tickSeconds: number;
  sessions: number;
  /** Synthetic employees needed so that nobody holds two sessions of this pool at once. */
  employees: number;
  /** What the simulation says this very day does at `capacity`. */
  predicted: { attempts: number; admitted: number; refused: number; gaveUp: number };
  /** The same at `capacity` over all simulated days: 2.5 %, 50 %, 97.5 % quantiles. */
  acrossDays: { attempts: [number, number, number]; refused: [number, number, number]; refusedShare: [number, number, number] };
}

export interface ReplaySchedule {
  format: typeof REPLAY_FORMAT;
  scenario: string;
  seed: number;
  variant: Variant;
  growth: number;
  /** 1-based number of the simulated day exported. */
  day: number;
  replications: number;
  daySeconds: number;
  /** Suggested time compression (simulated seconds per real second); the k6 run may override it. */
  compress: number;
  /** Simulated seconds an employee stays reserved after a session's last possible end, so a late replay never reuses them too early. */
  employeeMarginSeconds: number;
  pools: ScheduledPool[];
  /**
   * Every first request of the day, ordered by time, then pool, then the order the simulation drew
   * them. Within a tick of a pool the replay plays releases first, then first requests in this
   * order, then retries by session number — the simulation's order, so a broker that admits
   * exactly up to its capacity refuses exactly `predicted.refused`.
   */
  sessions: ScheduledSession[];
}

export interface ScheduleOptions {
  /** 0-based replication to export. */
  replication: number;
  variant: Variant;
  compress: number;
  employeeMarginSeconds: number;
}

export const DEFAULT_SCHEDULE_OPTIONS: ScheduleOptions = { replication: 0, variant: 'today', compress: 120, employeeMarginSeconds: 900 };

/**
 * Exports one simulated day as a replay schedule: the same requests, durations and retry
 * decisions the simulation used (on its tick grid), each assigned to a synthetic employee, with
 * the simulation's prediction for that day at each pool's capacity beside them.
 */
export function buildReplaySchedule(plan: PlanResult, options: Partial<ScheduleOptions> = {}): ReplaySchedule {
  const o = { ...DEFAULT_SCHEDULE_OPTIONS, ...options };
  const s = plan.scenario;
  if (!(Number.isInteger(o.replication) && o.replication >= 0 && o.replication < plan.replications)) {
    throw new RangeError(`day ${o.replication + 1} was not simulated (1 to ${plan.replications})`);
  }
  if (o.variant === 'growth' && s.growthFactor === 1) throw new RangeError('the scenario has no growth factor');
  const policy = retryPolicyOf(s);
  const pools: ScheduledPool[] = [];
  const sessions: ScheduledSession[] = [];
  const order: { seconds: number; pool: number; index: number }[] = [];

  s.pools.forEach((pool, p) => {
    const keys = dayKeys(plan.seed, o.variant, p, o.replication);
    const day = toTicks(drawDay(s, plan.seed, o.variant, p, o.replication), meanMinutes(pool.sessionDuration) * 60);
    const loss = simulateLossDay(day, pool.capacity, policy, keys.retry);
    const tick = day.tickSeconds;
    const margin = Math.ceil(o.employeeMarginSeconds / tick);

    // Interval partitioning: each request reserves an employee from its arrival to the latest it
    // could still hold a session (all retries refused but the last), plus a margin.
    const free: [number, number][] = []; // [free from tick, employee], a min-heap by tick
    let employees = 0;
    const first = sessions.length;
    for (let i = 0; i < day.count; i++) {
      const retries: number[] = [];
      for (let k = 0; ; k++) {
        const d = retryDelaySeconds(policy, keys.retry, i, k);
        if (d < 0) break;
        retries.push(Math.max(1, Math.round(d / tick)));
      }
      const at = day.arrivalTick[i]!;
      const until = at + retries.reduce((a, b) => a + b, 0) + day.holdTicks[i]! + margin;
      let employee: number;
      if (free.length > 0 && free[0]![0] <= at) {
        employee = free[0]![1];
        heapReplaceTop(free, [until, employee]);
      } else {
        employee = employees++;
        heapPush(free, [until, employee]);
      }
      sessions.push([at, day.holdTicks[i]!, p, employee, retries]);
      order.push({ seconds: at * tick, pool: p, index: first + i });
    }

    const current = plan.pools[p]![o.variant === 'today' ? 'today' : 'growth']!.current;
    const share = current.dayTotals.refused.map((r, k) => r / Math.max(1, current.dayTotals.attempts[k]!));
    const q = (xs: number[]): [number, number, number] => [quantile(xs, 0.025), quantile(xs, 0.5), quantile(xs, 0.975)];
    const attempts = sumRange(loss.attempts);
    const refused = sumRange(loss.refused);
    pools.push({
      id: pool.id,
      capacity: pool.capacity,
      tickSeconds: tick,
      sessions: day.count,
      employees,
      predicted: { attempts, admitted: attempts - refused, refused, gaveUp: sumRange(loss.gaveUp) },
      acrossDays: { attempts: q(current.dayTotals.attempts), refused: q(current.dayTotals.refused), refusedShare: q(share) },
    });
  });

  order.sort((a, b) => a.seconds - b.seconds || a.pool - b.pool || a.index - b.index);
  return {
    format: REPLAY_FORMAT,
    scenario: s.name,
    seed: plan.seed,
    variant: o.variant,
    growth: o.variant === 'growth' ? s.growthFactor : 1,
    day: o.replication + 1,
    replications: plan.replications,
    daySeconds: DAY_SECONDS,
    compress: o.compress,
    employeeMarginSeconds: o.employeeMarginSeconds,
    pools,
    sessions: order.map((x) => sessions[x.index]!),
  };
}

function less(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function heapPush(h: [number, number][], x: [number, number]): void {
  let i = h.length;
  h.push(x);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(x, h[parent]!)) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = x;
}

function heapReplaceTop(h: [number, number][], x: [number, number]): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const c = l + 1 < h.length && less(h[l + 1]!, h[l]!) ? l + 1 : l;
    if (!less(h[c]!, x)) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = x;
}
